package caddymodule

import (
	"io"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// A response that carries session cookies must never be stored by a shared
// cache and replayed to another visitor. The header is made private before
// the rest of the chain runs (so error responses keep it) and again when the
// response is written, because reverse_proxy appends the upstream's
// Cache-Control after ours.

// makePrivate rewrites Cache-Control so that shared caches don't store the
// response: it drops public and s-maxage and adds private, unless the header
// already says private or no-store.
func makePrivate(h http.Header) {
	values := h["Cache-Control"]
	if len(values) == 0 {
		h["Cache-Control"] = []string{"private"}
		return
	}
	var kept []string
	private := false
	for _, v := range values {
		for _, d := range strings.Split(v, ",") {
			d = strings.TrimSpace(d)
			name, _, _ := strings.Cut(strings.ToLower(d), "=")
			switch name {
			case "":
				continue
			case "public", "s-maxage":
				continue
			case "private", "no-store":
				private = true
			}
			kept = append(kept, d)
		}
	}
	if !private {
		kept = append([]string{"private"}, kept...)
	}
	h["Cache-Control"] = []string{strings.Join(kept, ", ")}
}

// privateWriter applies makePrivate when the response header is written.
type privateWriter struct {
	caddyhttp.ResponseWriterWrapper
	wroteHeader bool
}

func (w *privateWriter) WriteHeader(status int) {
	if w.wroteHeader {
		return
	}
	makePrivate(w.Header())
	if status >= 100 && status < 200 && status != http.StatusSwitchingProtocols {
		// 1xx are not final: the real response still gets its turn.
		w.ResponseWriterWrapper.WriteHeader(status)
		return
	}
	w.wroteHeader = true
	w.ResponseWriterWrapper.WriteHeader(status)
}

func (w *privateWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriterWrapper.Write(b)
}

func (w *privateWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriterWrapper.ReadFrom(r)
}

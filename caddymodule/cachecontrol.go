package caddymodule

import (
	"net/http"
	"strings"
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

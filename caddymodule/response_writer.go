package caddymodule

import (
	"io"
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// sessionWriter is the response writer of every request the handler passes
// on. When the response header is written, it takes the upstream's session
// answer off the response and acts on it (upstream_answer.go), and makes a
// response with session cookies private again and, under events
// navigations, names the headers that decided in Vary again: reverse_proxy
// appends the upstream's Cache-Control and Vary after the ones set before
// the chain ran.
type sessionWriter struct {
	caddyhttp.ResponseWriterWrapper
	h *Handler
	r *http.Request
	// text is the request's event, which the access log writes at the end.
	text *eventText
	// client is what the store knows the client by after this request (the
	// event's IDs, or the verified cookies of a request that is not an
	// event); no client ID for a request without identity.
	client sessionstore.Claim
	// private makes the response private when it is written.
	private     bool
	wroteHeader bool
}

func (h *Handler) newSessionWriter(w http.ResponseWriter, r *http.Request, text *eventText, client sessionstore.Claim, private bool) *sessionWriter {
	return &sessionWriter{ResponseWriterWrapper: caddyhttp.ResponseWriterWrapper{ResponseWriter: w},
		h: h, r: r, text: text, client: client, private: private}
}

func (w *sessionWriter) WriteHeader(status int) {
	if w.wroteHeader {
		return
	}
	if status >= 100 && status < 200 && status != http.StatusSwitchingProtocols {
		// 1xx are not final: the real response still gets its turn.
		w.h.headers.takeAnswer(w.Header())
	} else {
		w.wroteHeader = true
		w.answer()
		if w.h.Events == eventsNavigations {
			varyOnNavigation(w.Header())
		}
	}
	if w.private {
		makePrivate(w.Header())
	}
	w.ResponseWriterWrapper.WriteHeader(status)
}

func (w *sessionWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriterWrapper.Write(b)
}

func (w *sessionWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriterWrapper.ReadFrom(r)
}

// FlushError writes the header first, as net/http would, so that a handler
// that flushes before writing one cannot pass the answer's removal and
// makePrivate by reaching the writer underneath (http.ResponseController
// unwraps a writer that cannot flush).
func (w *sessionWriter) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush is FlushError for handlers that ask for an http.Flusher.
func (w *sessionWriter) Flush() { _ = w.FlushError() }

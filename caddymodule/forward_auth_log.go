package caddymodule

import (
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// Caddy's access log writes the response header map as it is when the
// handler returns, and redacts only Cookie and Set-Cookie (unless
// log_credentials): the answer's copies of the cookies, the visitor's
// Cookie and the numbered Set-Cookie lines, would be logged in clear.
// net/http sends the header as it was when it was written, so once the
// answer is on the wire its copies are redacted in the map, as Caddy
// redacts Set-Cookie, and the log sees only that.

// redacted is what the log shows of a credential: Caddy's word for it.
const redacted = "REDACTED"

// redactForTheLog sends the answer's header, then redacts the named
// headers in the map the access log reads. With log_credentials they are
// logged as Caddy then logs Cookie and Set-Cookie.
func redactForTheLog(w http.ResponseWriter, r *http.Request, names []string) {
	if len(names) == 0 || logsCredentials(r) {
		return
	}
	rec := innermostRecorder(w)
	if rec == nil {
		return // no access log: nothing reads the map after the handler
	}
	// A handler around this one may hold the header back (encode sends it
	// with the body, and there is none): writing to the recorder under it
	// sends it now, and the handler's own write later is a no-op there.
	rec.WriteHeader(http.StatusOK)
	if rec.Buffered() {
		return // a handler buffers the response: the map is not sent yet
	}
	// HTTP/3 sends the header on the first write or flush, HTTP/1 on a
	// flush; HTTP/2 keeps a copy when it is written.
	_ = http.NewResponseController(rec).Flush()
	header := w.Header()
	for _, name := range names {
		header[name] = []string{redacted}
	}
}

// innermostRecorder is the recorder nearest the connection among the
// writers under w: the access log's, when the request is logged. Every
// writer below it is Caddy's own and passes the header straight on.
func innermostRecorder(w http.ResponseWriter) caddyhttp.ResponseRecorder {
	var found caddyhttp.ResponseRecorder
	for w != nil {
		if rec, ok := w.(caddyhttp.ResponseRecorder); ok {
			found = rec
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			break
		}
		w = u.Unwrap()
	}
	return found
}

// logsCredentials reports whether the request's server logs credentials
// (log_credentials).
func logsCredentials(r *http.Request) bool {
	srv, _ := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server)
	return srv != nil && srv.Logs != nil && srv.Logs.ShouldLogCredentials
}

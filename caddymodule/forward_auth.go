package caddymodule

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// With forward_auth the handler is a session service for another proxy
// (nginx auth_request, Caddy forward_auth, Traefik forwardAuth, Envoy
// ext_authz): it runs the visit of the request the proxy asks about and
// answers 200 with everything the proxy needs to do what the inline handler
// does, as response headers, since such proxies read no body.

// Names, after the header prefix, of the answer's headers beyond the event
// fields.
const (
	answerCookie       = "Cookie"        // the Cookie header without the server cookies, to forward
	answerCacheControl = "Cache-Control" // "private" when the page must not be stored by a shared cache
	answerSetCookie    = "Set-Cookie-"   // numbered copies of the Set-Cookie lines, from 1
	answerVary         = "Vary"          // the answer's Vary on one line, for the page's response
)

// Headers a trusted proxy sends to name the request it asks about, in the
// order they are believed: Caddy's forward_auth and Traefik's forwardAuth
// set the X-Forwarded- names on every subrequest but pass a client's own
// X-Original-URI on, so that one counts only without the other.
var (
	originalURIHeaders    = []string{"X-Forwarded-Uri", "X-Original-URI"}
	originalMethodHeaders = []string{"X-Forwarded-Method", "X-Original-Method"}
)

// originalRequest is the request a trusted proxy asks about: its path,
// method and host from the proxy's headers. The client IP needs nothing
// here: behind trusted_proxies Caddy already takes it from
// client_ip_headers. An untrusted caller's headers are ignored, or anyone
// could record any landing path.
func originalRequest(r *http.Request) *http.Request {
	if trusted, _ := caddyhttp.GetVar(r.Context(), caddyhttp.TrustedProxyVarKey).(bool); !trusted {
		return r
	}
	orig := r.WithContext(r.Context())
	if u, err := url.ParseRequestURI(firstHeader(r.Header, originalURIHeaders)); err == nil && strings.HasPrefix(u.Path, "/") {
		orig.URL = u
	}
	if m := firstHeader(r.Header, originalMethodHeaders); m != "" && !strings.ContainsFunc(m, func(c rune) bool { return !isTokenChar(c) }) {
		orig.Method = m
	}
	if host := r.Header.Get("X-Forwarded-Host"); host != "" {
		orig.Host = host
	}
	return orig
}

func firstHeader(h http.Header, names []string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// forwardAuthAnswer ends the chain of a forward_auth handler: it turns what
// the visit did to the request and the response into the answer's headers.
type forwardAuthAnswer struct{ h *Handler }

func (a forwardAuthAnswer) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	out := w.Header()
	for _, name := range a.h.headers.names {
		if v := r.Header[name]; v != nil {
			out[name] = v
		}
	}
	prefix := a.h.HeaderPrefix
	cookies := out["Set-Cookie"]
	credentials := make([]string, 0, len(cookies)+1)
	for i, c := range cookies {
		name := http.CanonicalHeaderKey(prefix + answerSetCookie + strconv.Itoa(i+1))
		out[name] = []string{c}
		credentials = append(credentials, name)
	}
	if sw, ok := w.(*sessionWriter); ok && sw.private {
		out.Set(prefix+answerCacheControl, "private")
	}
	// Under events navigations the page's response depends on headers
	// a shared cache must key on; forward_auth and auth_request keep the
	// answer's own Vary to themselves.
	if vary := out["Vary"]; len(vary) > 0 {
		out.Set(prefix+answerVary, strings.Join(vary, ", "))
	}
	if c := r.Header["Cookie"]; len(c) > 0 {
		name := http.CanonicalHeaderKey(prefix + answerCookie)
		out[name] = []string{strings.Join(c, "; ")}
		credentials = append(credentials, name)
	}
	// The answer itself belongs to one visitor and one moment.
	out.Set("Cache-Control", "no-store")
	out.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	redactForTheLog(w, r, credentials)
	return nil
}

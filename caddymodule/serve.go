package caddymodule

import (
	"crypto/hmac"
	"crypto/sha256"
	"net/http"
	"net/url"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// ServeHTTP gives the request its identity, tells the upstream and the
// browser, and passes the request on. Nothing here fails the request: a
// store problem becomes a fallback event.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	now := time.Now()
	eventID := sessionstore.NewID(now)
	h.headers.strip(r.Header)
	if h.skipBots() && isBot(r.Header.Get("User-Agent")) {
		h.headers.setAnonymous(r.Header, eventID)
		announce(r, sessionstore.Event{EventID: eventID})
		return next.ServeHTTP(w, r)
	}

	ev := h.store.Visit(r.Context(), sessionstore.Visit{
		Claim:          h.cookies.claim(r),
		EventID:        eventID,
		Now:            now,
		Path:           truncate(r.URL.Path, maxLandingPath),
		ReferrerOrigin: referrerOrigin(r.Referer()),
		BootstrapKey:   h.bootstrapKey(r),
	}, h.opts)

	h.cookies.stripServerCookies(r)
	h.cookies.write(w.Header(), ev)
	if h.cacheControl() {
		makePrivate(w.Header())
		w = &privateWriter{ResponseWriterWrapper: &caddyhttp.ResponseWriterWrapper{ResponseWriter: w}}
	}
	h.headers.set(r.Header, ev)
	announce(r, ev)
	return next.ServeHTTP(w, r)
}

const (
	maxLandingPath    = 1024
	maxReferrerOrigin = 256
)

// bootstrapKey identifies a cookieless browser for the bootstrap window: a
// keyed hash of the client IP (as Caddy sees it behind trusted_proxies),
// User-Agent and Accept-Language. It is never stored beyond the window.
func (h *Handler) bootstrapKey(r *http.Request) string {
	if *h.BootstrapWindow <= 0 {
		return ""
	}
	ip, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
	if ip == "" {
		ip = r.RemoteAddr
	}
	m := hmac.New(sha256.New, h.signer.bootstrapKey)
	for _, part := range []string{ip, r.Header.Get("User-Agent"), r.Header.Get("Accept-Language")} {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}
	return string(m.Sum(nil)[:16])
}

// referrerOrigin reduces a Referer to scheme://host: the path may carry
// personal data and is not needed to attribute a session.
func referrerOrigin(ref string) string {
	if ref == "" {
		return ""
	}
	u, err := url.Parse(ref)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return truncate(u.Scheme+"://"+u.Host, maxReferrerOrigin)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

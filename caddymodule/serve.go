package caddymodule

import (
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/geoip"
	"github.com/c0f4626f/caddy-session/sessionstore"
)

// ServeHTTP gives the request its identity, tells the upstream and the
// browser, and passes the request on. Nothing here fails the request: a
// store problem becomes a fallback event.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if h.ForwardAuth {
		r, next = originalRequest(r), forwardAuthAnswer{h}
	}
	now := time.Now()
	eventID := sessionstore.NewID(now)
	h.headers.strip(r.Header)
	h.headers.stripTrailers(r)
	sent := h.cookies.read(r.Header["Cookie"], h.Consent)
	if h.Events == eventsNavigations {
		varyOnNavigation(w.Header()) // for error paths too; the writer keeps it
	}
	switch {
	case h.skipBots() && isBot(r.Header.Get("User-Agent")):
		return h.serveAnonymous(w, r, next, &sent, eventID, false)
	case !h.consented(r, &sent):
		return h.serveAnonymous(w, r, next, &sent, eventID, true)
	}

	c := h.cookies.claim(&sent)
	if !h.isEvent(r) {
		return h.serveSubresource(w, r, next, &sent, c, eventID, now)
	}
	v := h.visitOf(r, c.Claim, eventID, now)
	if c.ClientID == uuid.Nil {
		v.BootstrapKey, v.PageLoad = h.bootstrapKey(r), isNavigation(r)
	}
	ev := h.store.Visit(r.Context(), v, h.opts)
	countEvent(ev)

	text := newEventText(ev, h.fingerprintIfOn(r))
	if h.geo != nil {
		where := geoip.Location(v.Geo)
		text.geo = &where
	}
	h.cookies.write(w.Header(), text, c, now)
	if h.cacheControl() {
		makePrivate(w.Header()) // for error paths, where the writer's late change is lost
	}
	client := sessionstore.Claim{ClientID: ev.ClientID, SessionID: ev.SessionID, EventID: ev.EventID, FromCookie: true}
	return h.passOn(h.newSessionWriter(w, r, text, client, h.cacheControl()), r, next, &sent, text)
}

// visitOf is the request as the store sees it, claiming c.
func (h *Handler) visitOf(r *http.Request, c sessionstore.Claim, eventID uuid.UUID, now time.Time) sessionstore.Visit {
	v := sessionstore.Visit{
		Claim:   c,
		EventID: eventID,
		Now:     now,
		Path:    r.URL.Path,
		Landing: sessionstore.Landing{Query: r.URL.RawQuery, Referer: r.Header.Get("Referer"), Host: r.Host},
	}
	if h.geo != nil {
		v.Geo = sessionstore.Geo(h.locate(r))
	}
	return v
}

// passOn hands the request on with the event's headers and placeholders
// and without the signed cookies, which the upstream must not see.
func (h *Handler) passOn(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, sent *sentCookies, text *eventText) error {
	h.headers.set(r.Header, text)
	h.cookies.stripServerCookies(r, sent)
	announce(r, text)
	err := next.ServeHTTP(w, r)
	h.headers.dropAnswerTrailers(w.Header())
	return err
}

// isEvent reports whether the request counts as an event: every request,
// or under events navigations a page load.
func (h *Handler) isEvent(r *http.Request) bool {
	return h.Events != eventsNavigations || isNavigation(r)
}

// serveAnonymous passes on a request that gets an event ID only: a crawler,
// or a visitor without consent. Nothing is stored and no cookie is set; a
// visitor who withdrew consent has the session cookies expired and the
// client they prove erased.
//
// What would have been an event is made private all the same: a shared
// cache that stored a crawler's or a non-consenting visitor's public page
// would serve it, without cookies, to every browser that loads it.
func (h *Handler) serveAnonymous(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, sent *sentCookies, eventID uuid.UUID, noConsent bool) error {
	expired := noConsent && h.withdraw(w.Header(), sent)
	private := h.cacheControl() && (expired || h.isEvent(r))
	if private {
		makePrivate(w.Header()) // for error paths; the writer makes it private again when written
	}
	text := anonymousEventText(eventID, noConsent)
	return h.passOn(h.newSessionWriter(w, r, text, sessionstore.Claim{}, private), r, next, sent, text)
}

package caddymodule

import (
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/google/uuid"
)

// isNavigation reports whether the request is a top-level page load, by
// Fetch Metadata when the browser sends it, else by an Accept header that
// prefers HTML (older browsers send text/html first for page loads only).
func isNavigation(r *http.Request) bool {
	mode, dest := r.Header.Get("Sec-Fetch-Mode"), r.Header.Get("Sec-Fetch-Dest")
	if mode != "" || dest != "" {
		return mode == "navigate" || dest == "document"
	}
	accept := r.Header.Get("Accept")
	return strings.HasPrefix(accept, "text/html") || strings.HasPrefix(accept, "application/xhtml+xml")
}

// serveSubresource passes on a request that is not an event under events
// navigations (an image, a script, a fetch): a client whose cookies verify
// and that was not erased is recognized without a store call, and the
// upstream gets its client and session, the page's event as the previous
// one and a fresh event ID; others get an event ID only. Nothing is stored,
// set or made private, so that the response stays cacheable.
func (h *Handler) serveSubresource(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, sent *sentCookies, c claimed, eventID uuid.UUID, now time.Time) error {
	ev, known := h.store.Recognize(c.Claim, eventID, now)
	if !known {
		return h.passOn(w, r, next, sent, anonymousEventText(eventID, false))
	}
	return h.passOn(w, r, next, sent, recognizedEventText(ev, h.fingerprintIfOn(r)))
}

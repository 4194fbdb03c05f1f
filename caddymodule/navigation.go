package caddymodule

import (
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/sessionstore"
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
// navigations (an image, a script, a fetch): the upstream gets the client
// and session the verified cookies prove and a fresh event ID, and nothing
// is stored, set or made private, so that the response stays cacheable.
func (h *Handler) serveSubresource(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, sent *sentCookies, c claimed, eventID uuid.UUID) error {
	ev := sessionstore.Event{EventID: eventID}
	if c.ClientID != uuid.Nil && c.SessionID != uuid.Nil {
		ev.ClientID, ev.SessionID = c.ClientID, c.SessionID
	}
	return h.passOn(w, r, next, sent, newEventText(ev, ""))
}

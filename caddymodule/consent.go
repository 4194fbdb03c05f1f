package caddymodule

import (
	"net/http"
	"time"

	"github.com/google/uuid"
)

// ConsentConfig withholds identity until the visitor has consented, as
// recorded by a cookie that the site's consent banner sets.
type ConsentConfig struct {
	// Cookie is the name of the consent cookie.
	Cookie string `json:"cookie"`
	// Value, when set, is the value the cookie must have; otherwise any
	// value counts as consent.
	Value string `json:"value,omitempty"`
}

// withdraw answers a request without consent that carries session
// cookies: they are expired, and the client that the verified signed
// cookie proves is erased and tombstoned, off the request's path (the
// store's Withdraw), so that neither a failing store nor a burst of such
// requests holds it up. expired reports whether the response now sets
// cookies (the expiries).
func (h *Handler) withdraw(header http.Header, sent *sentCookies) (expired bool) {
	expired = h.cookies.expireIfPresent(header, sent)
	if id := h.cookies.provenClient(sent); id != uuid.Nil {
		h.store.Withdraw(id, time.Now().Add(tombstoneFor))
	}
	return expired
}

// consented reports whether the request may get an identity: with honor_gpc,
// Sec-GPC: 1 means no; with consent, the consent cookie must be present.
func (h *Handler) consented(r *http.Request, sent *sentCookies) bool {
	if h.HonorGPC && r.Header.Get("Sec-GPC") == "1" {
		return false
	}
	return h.Consent == nil || sent.consent
}

package caddymodule

import "net/http"

// ConsentConfig withholds identity until the visitor has consented, as
// recorded by a cookie that the site's consent banner sets.
type ConsentConfig struct {
	// Cookie is the name of the consent cookie.
	Cookie string `json:"cookie"`
	// Value, when set, is the value the cookie must have; otherwise any
	// value counts as consent.
	Value string `json:"value,omitempty"`
}

// consented reports whether the request may get an identity: with honor_gpc,
// Sec-GPC: 1 means no; with consent, the consent cookie must be present.
func (h *Handler) consented(r *http.Request, sent *sentCookies) bool {
	if h.HonorGPC && r.Header.Get("Sec-GPC") == "1" {
		return false
	}
	return h.Consent == nil || sent.consent
}

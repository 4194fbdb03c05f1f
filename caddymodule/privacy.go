package caddymodule

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"net/http"
	"strconv"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/c0f4626f/caddy-session/sessionstore"
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

// consented reports whether the request may get an identity: with honor_gpc,
// Sec-GPC: 1 means no; with consent, the consent cookie must be present.
func (h *Handler) consented(r *http.Request) bool {
	if h.HonorGPC && r.Header.Get("Sec-GPC") == "1" {
		return false
	}
	if h.Consent == nil {
		return true
	}
	found := false
	eachCookie(r.Header["Cookie"], func(name, value string) {
		if name == h.Consent.Cookie && (h.Consent.Value == "" || value == h.Consent.Value) {
			found = true
		}
	})
	return found
}

// clientIP is the client address as Caddy sees it behind trusted_proxies.
func clientIP(r *http.Request) string {
	if ip, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ip != "" {
		return ip
	}
	return r.RemoteAddr
}

// keyedHash is HMAC-SHA256 over NUL-separated parts.
func keyedHash(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// bootstrapKey identifies a cookieless browser on one site for the
// bootstrap window: a keyed hash of the Host, client IP, User-Agent and
// Accept-Language. The Host keeps sites that share a store and a key apart,
// as the browser keeps their cookies apart. The key is never stored beyond
// the window nor sent anywhere.
func (h *Handler) bootstrapKey(r *http.Request) sessionstore.BootstrapKey {
	if *h.BootstrapWindow <= 0 {
		return sessionstore.BootstrapKey{}
	}
	return h.signer.bootstrap.digest(r.Host, clientIP(r), r.Header.Get("User-Agent"), r.Header.Get("Accept-Language"))
}

// fingerprint is the opt-in keyed hash of what the connection and browser
// reveal (the Worker's fpID). It is handed upstream, never stored.
func (h *Handler) fingerprint(r *http.Request) string {
	cipher, proto := "none", "none"
	if r.TLS != nil {
		cipher, proto = tls.CipherSuiteName(r.TLS.CipherSuite), strconv.Itoa(int(r.TLS.Version))
	}
	sum := h.signer.fingerprint.digest(clientIP(r), r.Header.Get("User-Agent"),
		r.Header.Get("Accept-Language"), r.Header.Get("Accept-Encoding"), cipher, proto)
	return hex.EncodeToString(sum[:])
}

package caddymodule

import (
	"crypto/tls"
	"encoding/hex"
	"net/http"
	"strconv"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// requestHashes key the hashes of what a request reveals; derived from the
// signing key so that they mean nothing outside this deployment.
type requestHashes struct{ bootstrap, fingerprint *macPool }

func newRequestHashes(signingKey []byte) requestHashes {
	return requestHashes{
		bootstrap:   newMacPool(keyedHash(signingKey, "caddy-session bootstrap")),
		fingerprint: newMacPool(keyedHash(signingKey, "caddy-session fingerprint")),
	}
}

// clientIP is the client address as Caddy sees it behind trusted_proxies.
func clientIP(r *http.Request) string {
	if ip, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ip != "" {
		return ip
	}
	return r.RemoteAddr
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
	return h.hashes.bootstrap.digest(r.Host, clientIP(r), r.Header.Get("User-Agent"), r.Header.Get("Accept-Language"))
}

// fingerprintIfOn is the fingerprint with the fingerprint option, else "".
func (h *Handler) fingerprintIfOn(r *http.Request) string {
	if !h.Fingerprint {
		return ""
	}
	return h.fingerprint(r)
}

// fingerprint is the opt-in keyed hash of what the connection and browser
// reveal. It is handed upstream, never stored.
func (h *Handler) fingerprint(r *http.Request) string {
	cipher, proto := "none", "none"
	if r.TLS != nil {
		cipher, proto = tls.CipherSuiteName(r.TLS.CipherSuite), strconv.Itoa(int(r.TLS.Version))
	}
	sum := h.hashes.fingerprint.digest(clientIP(r), r.Header.Get("User-Agent"),
		r.Header.Get("Accept-Language"), r.Header.Get("Accept-Encoding"), cipher, proto)
	return hex.EncodeToString(sum[:])
}

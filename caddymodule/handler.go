// Package caddymodule is the Caddy side of caddy-session: configuration,
// the HTTP handler, cookies, the headers and placeholders handed upstream,
// and the store pool that outlives config reloads. The session lifecycle
// itself lives in package sessionstore.
package caddymodule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/c0f4626f/caddy-session/geoip"
	"github.com/c0f4626f/caddy-session/sessionstore"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler gives every visitor a long-lived client ID, a session ID that
// rotates after inactivity and a fresh event ID per request. It sets them as
// signed HttpOnly cookies plus readable copies, hands them upstream as
// request headers and placeholders, and keeps a per-client object in a
// store. When the store fails, requests still flow: identity continues from
// the signed cookies.
type Handler struct {
	// SessionTimeout ends a session after this much inactivity. Default: 30m.
	SessionTimeout caddy.Duration `json:"session_timeout,omitempty"`

	// SessionMaxDuration ends a session this long after it started, however
	// active. Default: 0 (no limit).
	SessionMaxDuration caddy.Duration `json:"session_max_duration,omitempty"`

	// Secrets are the cookie-signing keys, each at least 32 bytes; {env.*}
	// and {file.*} placeholders are resolved at provision time. The first
	// signs, all verify, so keys rotate without logging anyone out. Without
	// secrets, a random key is generated once and kept in Caddy's storage.
	Secrets []string `json:"secrets,omitempty"`

	// HeaderPrefix prefixes the request headers handed upstream. Any header
	// the client sent with this prefix is removed first. Default: X-Session-.
	HeaderPrefix string `json:"header_prefix,omitempty"`

	// StoreRaw is the back end that keeps per-client objects. Default: sqlite.
	StoreRaw json.RawMessage `json:"store,omitempty" caddy:"namespace=http.handlers.session.stores inline_key=backend"`

	// StoreTimeout is the deadline for the store work of one request; past
	// it the request goes on from cookies alone. Default: 50ms.
	StoreTimeout caddy.Duration `json:"store_timeout,omitempty"`

	// Retention deletes objects and session rows idle longer than this.
	// Default: 90d. With a store shared by several sites, the first
	// configuration that opened it sets the retention.
	Retention caddy.Duration `json:"retention,omitempty"`

	// BootstrapWindow lets concurrent cookieless requests of one browser
	// (same client IP, User-Agent and Accept-Language) share one new client
	// for this long. 0 disables it. Default: 2s.
	BootstrapWindow *caddy.Duration `json:"bootstrap_window,omitempty"`

	// Cookie configures the cookie names and attributes.
	Cookie *CookieConfig `json:"cookie,omitempty"`

	// CookieRefresh is how long an unchanged client and session cookie pair
	// goes without being sent again: a response carries them when their
	// value changes or when they were last sent this long ago (renewing
	// their Max-Age), and the event pair always. A visitor keeps its
	// identity for max_age minus this after its last visit, so it must be at
	// most half the cookies' max_age. 0 sends them on every response.
	// Default: 24h.
	CookieRefresh *caddy.Duration `json:"cookie_refresh,omitempty"`

	// TrustClientCookies accepts the readable, unsigned client cookies as
	// identity when no signed cookie is present. Only for migrations.
	TrustClientCookies bool `json:"trust_client_cookies,omitempty"`

	// SkipBots gives crawlers an event ID only: no cookies, no store write.
	// Default: true.
	SkipBots *bool `json:"skip_bots,omitempty"`

	// PersistNewClients is "on_return" (default: a new client is written
	// when it comes back with its cookie) or "immediately".
	PersistNewClients string `json:"persist_new_clients,omitempty"`

	// CacheControl makes responses that carry session cookies private to
	// the browser, so that no shared cache replays them to another visitor,
	// and so the events of crawlers and visitors without consent, whose
	// stored page would reach browsers without cookies. Default: true.
	CacheControl *bool `json:"cache_control,omitempty"`

	// Consent withholds identity until the visitor consents: without the
	// consent cookie, no cookie is set and nothing is stored; the request
	// gets an event ID only and the upstream sees X-Session-Consent: false.
	Consent *ConsentConfig `json:"consent,omitempty"`

	// HonorGPC treats Sec-GPC: 1 (Global Privacy Control) as no consent.
	HonorGPC bool `json:"honor_gpc,omitempty"`

	// Fingerprint hands the upstream X-Session-Fingerprint (and
	// {http.session.fingerprint}): a keyed hash of client IP, User-Agent,
	// Accept-Language, Accept-Encoding, TLS cipher and protocol. Never
	// stored. Only requests that get an identity carry it.
	Fingerprint bool `json:"fingerprint,omitempty"`

	// CacheSize bounds the objects kept in memory after they are written
	// and, separately, the new clients kept in memory until they return;
	// with a Redis store, the clients whose stored value an instance
	// remembers, so that their next update takes one round trip.
	// Default: 100000. Like retention, set by the first configuration that
	// opened the store.
	CacheSize int `json:"cache_size,omitempty"`

	// ForwardAuth makes the handler a session service for another proxy
	// (nginx auth_request, Caddy forward_auth, Traefik forwardAuth): it
	// runs the visit of the request the proxy asks about (path, method and
	// host from X-Original-URI or X-Forwarded-Uri, X-Forwarded-Method and
	// X-Forwarded-Host of a trusted proxy) and answers 200 with the event
	// fields, the Set-Cookie lines (also numbered, {prefix}Set-Cookie-1…),
	// the Cookie header without the server cookies ({prefix}Cookie) and
	// the cache decision ({prefix}Cache-Control) as headers. The rest of
	// the route does not run.
	ForwardAuth bool `json:"forward_auth,omitempty"`

	// Events is "all" (default: every request is an event) or
	// "navigations": only top-level page loads are events (Sec-Fetch-Mode:
	// navigate or Sec-Fetch-Dest: document; without Fetch Metadata, an
	// Accept that prefers HTML). Other requests of a client with valid
	// cookies that was not erased hand the upstream its verified client and
	// session IDs, the page's event ID as the previous one and a fresh event
	// ID, with no store call, no Set-Cookie and no change to Cache-Control,
	// so that assets stay cacheable; the others get an event ID only.
	Events string `json:"events,omitempty"`

	// GeoIP is the path of a MaxMind-format database: GeoLite2 or GeoIP2
	// Country or City, or DB-IP Lite Country or City. Every event of a
	// consenting visitor then carries the country, continent, region and
	// city of its client IP (as Caddy determined it, behind
	// trusted_proxies): X-Session-Country etc. upstream,
	// {http.session.country} etc., access-log keys and session_info. The
	// IP itself is never stored. The file is checked every few seconds and
	// reloaded when replaced (as geoipupdate does), without a Caddy reload.
	// {env.*} placeholders are resolved at provision time.
	GeoIP string `json:"geoip,omitempty"`

	logger  *zap.Logger
	store   *sessionstore.Store
	poolKey string
	signer  *signer
	hashes  requestHashes
	cookies *cookieJar
	headers upstreamHeaders
	opts    sessionstore.Options
	geo     *geoip.DB
	geoKey  string
}

// Defaults of the handler.
const (
	defaultSessionTimeout  = 30 * time.Minute
	defaultStoreTimeout    = 50 * time.Millisecond
	defaultBootstrapWindow = 2 * time.Second
	defaultCookieRefresh   = 24 * time.Hour
	defaultHeaderPrefix    = "X-Session-"
)

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.session",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision sets defaults, loads the signing keys and joins the pooled store.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	if err := registerMetrics(ctx.GetMetricsRegistry()); err != nil {
		return err
	}
	h.setDefaults()
	if err := h.openGeo(); err != nil {
		return err
	}
	keys, err := h.loadKeys(ctx)
	if err != nil {
		return err
	}
	h.signer = newSigner(keys)
	h.hashes = newRequestHashes(keys[0])
	if h.cookies, err = newCookieJar(h.Cookie, h.signer, h.TrustClientCookies, time.Duration(*h.CookieRefresh)); err != nil {
		return err
	}
	h.headers = newUpstreamHeaders(h.HeaderPrefix)
	h.opts = sessionstore.Options{
		Policy: sessionstore.Policy{
			SessionTimeout: time.Duration(h.SessionTimeout),
			MaxDuration:    time.Duration(h.SessionMaxDuration),
		},
		Timeout:            time.Duration(h.StoreTimeout),
		BootstrapWindow:    time.Duration(*h.BootstrapWindow),
		PersistImmediately: h.PersistNewClients == persistImmediately,
	}
	return h.openStore(ctx)
}

func (h *Handler) setDefaults() {
	if h.SessionTimeout == 0 {
		h.SessionTimeout = caddy.Duration(defaultSessionTimeout)
	}
	if h.StoreTimeout == 0 {
		h.StoreTimeout = caddy.Duration(defaultStoreTimeout)
	}
	if h.BootstrapWindow == nil {
		w := caddy.Duration(defaultBootstrapWindow)
		h.BootstrapWindow = &w
	}
	if h.CookieRefresh == nil {
		r := caddy.Duration(defaultCookieRefresh)
		h.CookieRefresh = &r
	}
	if h.HeaderPrefix == "" {
		h.HeaderPrefix = defaultHeaderPrefix
	}
	if h.Cookie == nil {
		h.Cookie = new(CookieConfig)
	}
}

const (
	eventsAll          = "all"
	eventsNavigations  = "navigations"
	persistOnReturn    = "on_return"
	persistImmediately = "immediately"
)

// cookieConfig is the cookie configuration with its defaults.
func (h *Handler) cookieConfig() CookieConfig {
	if h.Cookie == nil {
		return CookieConfig{}.withDefaults()
	}
	return h.Cookie.withDefaults()
}

// Validate checks the configuration. It needs no provisioning: the
// Caddyfile parser runs it after each subdirective to name the line.
// Secrets with placeholders are checked once resolved, by loadKeys.
func (h *Handler) Validate() error {
	for _, d := range [...]struct {
		name  string
		value caddy.Duration
	}{
		{"session_timeout", h.SessionTimeout}, {"session_max_duration", h.SessionMaxDuration},
		{"store_timeout", h.StoreTimeout}, {"retention", h.Retention},
	} {
		if d.value < 0 {
			return fmt.Errorf("%s must not be negative", d.name)
		}
	}
	switch {
	case h.BootstrapWindow != nil && *h.BootstrapWindow < 0:
		return fmt.Errorf("bootstrap_window must not be negative")
	case h.CookieRefresh != nil && *h.CookieRefresh < 0:
		return fmt.Errorf("cookie_refresh must not be negative")
	case h.CookieRefresh != nil && *h.CookieRefresh > h.cookieConfig().MaxAge/2:
		return fmt.Errorf("cookie_refresh must be at most half the cookies' max_age: a visitor keeps its identity for max_age minus cookie_refresh after its last visit")
	case h.CacheSize < 0:
		return fmt.Errorf("cache_size must not be negative")
	case h.Consent != nil && h.Consent.Cookie == "":
		return fmt.Errorf("consent needs a cookie name")
	}
	switch h.PersistNewClients {
	case "", persistOnReturn, persistImmediately:
	default:
		return fmt.Errorf("persist_new_clients must be %s or %s, not %q", persistOnReturn, persistImmediately, h.PersistNewClients)
	}
	switch h.Events {
	case "", eventsAll, eventsNavigations:
	default:
		return fmt.Errorf("events must be %s or %s, not %q", eventsAll, eventsNavigations, h.Events)
	}
	for i, s := range h.Secrets {
		if !strings.Contains(s, "{") {
			if err := checkSecret(i, s); err != nil {
				return err
			}
		}
	}
	if h.Cookie != nil {
		if err := h.Cookie.withDefaults().validate(); err != nil {
			return fmt.Errorf("cookie: %w", err)
		}
	}
	return nil
}

// Cleanup flushes the store's queue (a reload must not lose what was
// acknowledged) and releases this configuration's hold on the pooled store
// and geo database.
func (h *Handler) Cleanup() error {
	geoErr := h.releaseGeo()
	if h.poolKey == "" {
		return geoErr
	}
	ctx, cancel := context.WithTimeout(context.Background(), flushOnCleanup)
	defer cancel()
	if err := h.store.Flush(ctx); err != nil {
		h.logger.Warn("flushing session store", zap.Error(err))
	}
	_, err := stores.Delete(h.poolKey)
	h.poolKey = ""
	return errors.Join(err, geoErr)
}

const flushOnCleanup = 5 * time.Second

func (h *Handler) skipBots() bool     { return h.SkipBots == nil || *h.SkipBots }
func (h *Handler) cacheControl() bool { return h.CacheControl == nil || *h.CacheControl }

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)

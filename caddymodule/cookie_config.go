package caddymodule

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// CookieConfig sets the names and attributes of the session cookies. Each
// ID gets a signed HttpOnly server cookie {app_prefix}{server_prefix}{name}
// and a readable client cookie {app_prefix}{client_prefix}{name}.
type CookieConfig struct {
	// Names of the client, session and event IDs, in that order.
	// Default: cID sID eID.
	Names []string `json:"names,omitempty"`

	// AppPrefix comes before both prefixes, e.g. "__Host-" or "myapp_".
	AppPrefix string `json:"app_prefix,omitempty"`

	// ServerPrefix marks the signed HttpOnly cookies. Default: _ss_.
	ServerPrefix string `json:"server_prefix,omitempty"`

	// ClientPrefix marks the readable cookies. Default: _cs_.
	ClientPrefix string `json:"client_prefix,omitempty"`

	// Domain of the cookies. Default: none (host-only).
	Domain string `json:"domain,omitempty"`

	// Path of the cookies. Default: /.
	Path string `json:"path,omitempty"`

	// SameSite is lax (default), strict or none. Strict would drop identity
	// on every link from another site; none requires secure.
	SameSite string `json:"same_site,omitempty"`

	// Secure sets the Secure attribute. Default: true (browsers keep Secure
	// cookies on http://localhost too).
	Secure *bool `json:"secure,omitempty"`

	// MaxAge of the cookies. Default: 400d, the browsers' cap.
	MaxAge caddy.Duration `json:"max_age,omitempty"`

	// ClientCookies sets the readable client cookies. Default: true.
	ClientCookies *bool `json:"client_cookies,omitempty"`
}

// Cookie defaults.
const (
	defaultServerPrefix = "_ss_"
	defaultClientPrefix = "_cs_"
	defaultMaxAge       = 400 * 24 * time.Hour
	hostPrefix          = "__Host-"
	securePrefix        = "__Secure-"
)

var defaultCookieNames = []string{"cID", "sID", "eID"}

// withDefaults returns a copy with every unset field at its default.
func (c CookieConfig) withDefaults() CookieConfig {
	if len(c.Names) == 0 {
		c.Names = defaultCookieNames
	}
	if c.ServerPrefix == "" {
		c.ServerPrefix = defaultServerPrefix
	}
	if c.ClientPrefix == "" {
		c.ClientPrefix = defaultClientPrefix
	}
	if c.Path == "" {
		c.Path = "/"
	}
	if c.SameSite == "" {
		c.SameSite = "lax"
	}
	if c.MaxAge == 0 {
		c.MaxAge = caddy.Duration(defaultMaxAge)
	}
	return c
}

func (c CookieConfig) secure() bool        { return c.Secure == nil || *c.Secure }
func (c CookieConfig) clientCookies() bool { return c.ClientCookies == nil || *c.ClientCookies }

// validate checks a defaulted config.
func (c CookieConfig) validate() error {
	if len(c.Names) != 3 {
		return fmt.Errorf("names takes three names (client, session, event), got %d", len(c.Names))
	}
	if c.ServerPrefix == c.ClientPrefix {
		return fmt.Errorf("server_prefix and client_prefix must differ")
	}
	for _, n := range append([]string{c.AppPrefix, c.ServerPrefix, c.ClientPrefix}, c.Names...) {
		if strings.ContainsFunc(n, func(r rune) bool { return !isTokenChar(r) }) {
			return fmt.Errorf("cookie name part %q has characters not allowed in a cookie name", n)
		}
	}
	switch strings.ToLower(c.SameSite) {
	case "lax", "strict":
	case "none":
		if !c.secure() {
			return fmt.Errorf("same_site none requires secure")
		}
	default:
		return fmt.Errorf("same_site must be lax, strict or none, not %q", c.SameSite)
	}
	if c.MaxAge < 0 {
		return fmt.Errorf("max_age must not be negative")
	}
	// Attribute values go into every Set-Cookie header as they are.
	for _, v := range []string{c.Domain, c.Path} {
		if strings.ContainsAny(v, ";,\r\n\x00 \t") {
			return fmt.Errorf("cookie domain and path must not contain separators or control characters: %q", v)
		}
	}
	if !strings.HasPrefix(c.Path, "/") {
		return fmt.Errorf("cookie path must start with /, not %q", c.Path)
	}
	for _, prefix := range []string{c.AppPrefix + c.ServerPrefix, c.AppPrefix + c.ClientPrefix} {
		if strings.HasPrefix(prefix, hostPrefix) && (!c.secure() || c.Path != "/" || c.Domain != "") {
			return fmt.Errorf("cookie names starting with %s need secure, path / and no domain", hostPrefix)
		}
		if strings.HasPrefix(prefix, securePrefix) && !c.secure() {
			return fmt.Errorf("cookie names starting with %s need secure", securePrefix)
		}
	}
	return nil
}

// isTokenChar reports whether r may appear in a cookie name (RFC 6265 token).
func isTokenChar(r rune) bool {
	return r > ' ' && r < 0x7f && !strings.ContainsRune(`()<>@,;:\"/[]?={}`, r)
}

// attributes renders the attributes shared by every session cookie.
func (c CookieConfig) attributes() string {
	return c.attributesFor(int64(time.Duration(c.MaxAge) / time.Second))
}

// attributesFor renders them with another Max-Age (0 expires the cookie).
func (c CookieConfig) attributesFor(maxAge int64) string {
	var b strings.Builder
	b.WriteString("; Path=" + c.Path)
	if c.Domain != "" {
		b.WriteString("; Domain=" + c.Domain)
	}
	b.WriteString("; Max-Age=" + strconv.FormatInt(maxAge, 10))
	if c.secure() {
		b.WriteString("; Secure")
	}
	b.WriteString("; SameSite=" + strings.ToUpper(c.SameSite[:1]) + strings.ToLower(c.SameSite[1:]))
	return b.String()
}

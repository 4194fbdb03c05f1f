package caddymodule

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/sessionstore"
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

// cookieJar reads the client's claim from its cookies and writes the cookies
// of an event.
type cookieJar struct {
	signer        *signer
	server        [3]string // signed HttpOnly cookie names: client, session, event
	client        [3]string // readable cookie names
	trustClient   bool
	clientCookies bool
	serverAttrs   string // "; Path=/; Max-Age=…; HttpOnly; Secure; SameSite=Lax"
	clientAttrs   string
	expireAttrs   string             // the same attributes with Max-Age=0: only an exact match removes a cookie
	verified      [2]*verifiedValues // client and session: the values that repeat
}

func newCookieJar(cfg *CookieConfig, s *signer, trustClient bool) (*cookieJar, error) {
	c := cfg.withDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	j := &cookieJar{signer: s, trustClient: trustClient, clientCookies: c.clientCookies()}
	for i := range j.verified {
		j.verified[i] = newVerifiedValues()
	}
	for i, n := range c.Names {
		j.server[i] = c.AppPrefix + c.ServerPrefix + n
		j.client[i] = c.AppPrefix + c.ClientPrefix + n
	}
	j.clientAttrs = c.attributes()
	j.serverAttrs = j.clientAttrs + "; HttpOnly"
	j.expireAttrs = c.attributesFor(0)
	return j, nil
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

// claimed is what the request's cookies prove, with the signed values that
// can be sent back unchanged (verified with the current key).
type claimed struct {
	sessionstore.Claim
	signed [3]string
}

// maxValuesPerName is how many values of one server cookie name are
// checked. A browser sends a name more than once only when cookies of other
// paths or domains share it; each forged value would cost a MAC per key.
const maxValuesPerName = 4

// claim is what the sent cookies prove: the IDs of verified server cookies
// (or, with trust_client_cookies, of client cookies where no server cookie
// verified). The first verified cookie of a name wins, among the first
// maxValuesPerName values of that name.
func (j *cookieJar) claim(sent *sentCookies) claimed {
	var ids [3]uuid.UUID
	var c claimed
	for i := range ids {
		ids[i] = sent.client[i]
		for _, value := range sent.serverValues(i) {
			if v, ok := j.verify(i, value); ok {
				ids[i] = v.id
				if v.current {
					c.signed[i] = value
				}
				break
			}
		}
	}
	c.Claim = sessionstore.Claim{ClientID: ids[0], SessionID: ids[1], EventID: ids[2], FromCookie: ids[0] != uuid.Nil}
	return c
}

// verify checks the value of server cookie i. Client and session values
// that pass are remembered; an event value is new on every request, so it
// is always checked.
func (j *cookieJar) verify(i int, value string) (verifiedValue, bool) {
	remembered := i < len(j.verified)
	if remembered {
		if v, ok := j.verified[i].get(value); ok {
			return v, true
		}
	}
	id, current, ok := j.signer.verify(j.server[i], value)
	if !ok {
		return verifiedValue{}, false
	}
	v := verifiedValue{id: id, current: current}
	if remembered {
		j.verified[i].put(value, v)
	}
	return v, true
}

// write adds the Set-Cookie headers of the event. A signed value the
// browser sent for the same ID is sent back as it is: the same bytes as
// signing again, without the MAC.
func (j *cookieJar) write(h http.Header, ev *eventText, c claimed) {
	ids := [3]uuid.UUID{ev.ClientID, ev.SessionID, ev.EventID}
	texts := [3]string{ev.clientID, ev.sessionID, ev.eventID}
	claims := [3]uuid.UUID{c.ClientID, c.SessionID, c.EventID}
	// One string holds all six cookies; each header value is a slice of it.
	var all strings.Builder
	all.Grow(6 * (len(j.server[0]) + signedLen + len(j.serverAttrs) + 2))
	var sig [signedLen]byte
	var ends [6]int
	n := 0
	for i, id := range ids {
		all.WriteString(j.server[i])
		all.WriteByte('=')
		if signed := c.signed[i]; signed != "" && claims[i] == id {
			all.WriteString(signed)
		} else {
			all.Write(j.signer.appendSigned(sig[:0], j.server[i], texts[i]))
		}
		all.WriteString(j.serverAttrs)
		ends[n], n = all.Len(), n+1
		if j.clientCookies {
			for _, part := range [...]string{j.client[i], "=", texts[i], j.clientAttrs} {
				all.WriteString(part)
			}
			ends[n], n = all.Len(), n+1
		}
	}
	set := append(make([]string, 0, n+len(h["Set-Cookie"])), h["Set-Cookie"]...)
	text, start := all.String(), 0
	for _, end := range ends[:n] {
		set = append(set, text[start:end])
		start = end
	}
	h["Set-Cookie"] = set
}

// expireIfPresent expires the session cookies the request carries (consent
// withdrawn) and reports whether there were any.
func (j *cookieJar) expireIfPresent(h http.Header, sent *sentCookies) bool {
	expired := false
	for i := range j.server {
		if sent.servers[i] > 0 {
			h.Add("Set-Cookie", j.server[i]+"="+j.expireAttrs)
			expired = true
		}
	}
	for i := range j.client {
		if sent.clientSent[i] {
			h.Add("Set-Cookie", j.client[i]+"="+j.expireAttrs)
			expired = true
		}
	}
	return expired
}

// stripServerCookies removes the signed cookies from the Cookie header sent
// upstream; the upstream gets the session headers instead.
func (j *cookieJar) stripServerCookies(r *http.Request, sent *sentCookies) {
	if !sent.serverNamed {
		return
	}
	values := r.Header["Cookie"]
	changed := false
	for i, v := range values {
		if !j.mentionsServerCookie(v) {
			continue
		}
		changed = true
		var kept strings.Builder
		kept.Grow(len(v))
		for rest := v; rest != ""; {
			var part string
			part, rest, _ = strings.Cut(rest, ";")
			part = strings.TrimSpace(part)
			name, _, _ := strings.Cut(part, "=")
			if part == "" || j.isServerCookie(strings.TrimSpace(name)) {
				continue
			}
			if kept.Len() > 0 {
				kept.WriteString("; ")
			}
			kept.WriteString(part) // other cookies pass untouched, quotes and all
		}
		values[i] = kept.String()
	}
	if !changed {
		return
	}
	if values = deleteEmpty(values); len(values) == 0 {
		r.Header.Del("Cookie")
		return
	}
	r.Header["Cookie"] = values
}

func (j *cookieJar) mentionsServerCookie(v string) bool {
	for _, n := range j.server {
		if strings.Contains(v, n) {
			return true
		}
	}
	return false
}

func (j *cookieJar) isServerCookie(name string) bool {
	return name == j.server[0] || name == j.server[1] || name == j.server[2]
}

func deleteEmpty(values []string) []string {
	kept := values[:0]
	for _, v := range values {
		if v != "" {
			kept = append(kept, v)
		}
	}
	return kept
}

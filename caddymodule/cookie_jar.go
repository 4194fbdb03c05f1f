package caddymodule

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

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
	refresh       int64              // seconds after which unchanged client and session cookies are sent again; 0: always
}

func newCookieJar(cfg *CookieConfig, s *signer, trustClient bool, refresh time.Duration) (*cookieJar, error) {
	c := cfg.withDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	j := &cookieJar{signer: s, trustClient: trustClient, clientCookies: c.clientCookies(), refresh: int64(refresh / time.Second)}
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

// claimed is what the request's cookies prove, with the signed values that
// can be sent back unchanged (verified with the current key), the readable
// values sent, and when the client and session cookies were last sent (the
// event cookie's renewal time; 0 when unknown).
type claimed struct {
	sessionstore.Claim
	signed   [3]string
	readable [3]string
	renewed  int64
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
	c := claimed{readable: sent.clientValue}
	for i := range ids {
		ids[i] = sent.client[i]
		for _, value := range sent.serverValues(i) {
			if v, ok := j.verify(i, value); ok {
				ids[i], c.renewed = v.id, max(c.renewed, v.renewed)
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

// provenClient is the client ID of the request's verified signed client
// cookie, uuid.Nil without one: the readable copy proves nothing, even
// with trust_client_cookies.
func (j *cookieJar) provenClient(sent *sentCookies) uuid.UUID {
	for _, value := range sent.serverValues(0) {
		if v, ok := j.verify(0, value); ok {
			return v.id
		}
	}
	return uuid.Nil
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
	v, ok := j.signer.verify(j.server[i], value)
	if !ok {
		return verifiedValue{}, false
	}
	if remembered {
		j.verified[i].put(value, v)
	}
	return v, true
}

// write adds the Set-Cookie headers of the event: the event pair always,
// the client and session pairs when their value changes or when they are
// due for renewal. The event cookie carries when they were last sent. A
// signed value the browser sent for the same ID is sent back as it is: the
// same bytes as signing again, without the MAC.
func (j *cookieJar) write(h http.Header, ev *eventText, c claimed, now time.Time) {
	renewed, due := j.renewal(c.renewed, now)
	ids := [3]uuid.UUID{ev.ClientID, ev.SessionID, ev.EventID}
	texts := [3]string{ev.clientID, ev.sessionID, ev.eventID}
	claims := [3]uuid.UUID{c.ClientID, c.SessionID, c.EventID}
	var send, unchanged [3]bool
	pairs := 0
	for i, id := range ids {
		unchanged[i] = c.signed[i] != "" && claims[i] == id && (!j.clientCookies || c.readable[i] == texts[i])
		send[i] = i == 2 || due || !unchanged[i]
		if send[i] {
			pairs++
		}
	}
	// One string holds all the cookies; each header value is a slice of it.
	var all strings.Builder
	all.Grow(pairs * (2*len(j.server[0]) + maxSignedLen + uuidLen + len(j.serverAttrs) + len(j.clientAttrs) + 2))
	var buf [maxSignedLen]byte
	var ends [6]int
	n := 0
	for i := range ids {
		if !send[i] {
			continue
		}
		all.WriteString(j.server[i])
		all.WriteByte('=')
		switch {
		case i == 2:
			all.Write(j.signer.appendSignedRenewed(buf[:0], j.server[i], texts[i], renewed))
		case unchanged[i]:
			all.WriteString(c.signed[i])
		default:
			all.Write(j.signer.appendSigned(buf[:0], j.server[i], texts[i]))
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

// renewal is when the client and session cookies count as last sent after
// this response, and whether this response sends them again: when they
// were last sent refresh or more ago, at an unknown time, or in the future
// (a clock set back).
func (j *cookieJar) renewal(last int64, now time.Time) (renewed int64, due bool) {
	age := now.Unix() - last
	if j.refresh > 0 && last > 0 && age >= 0 && age < j.refresh {
		return last, false
	}
	return now.Unix(), true
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

// dropSessionCookies removes the Set-Cookie lines of the session cookies
// (server and client) from a response header; others stay.
func (j *cookieJar) dropSessionCookies(h http.Header) {
	kept := h["Set-Cookie"][:0]
	for _, line := range h["Set-Cookie"] {
		name, _, _ := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		if !j.isServerCookie(name) && nameIndex(&j.client, name) < 0 {
			kept = append(kept, line)
		}
	}
	if len(kept) == 0 {
		delete(h, "Set-Cookie")
		return
	}
	h["Set-Cookie"] = kept
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
	return nameIndex(&j.server, name) >= 0
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

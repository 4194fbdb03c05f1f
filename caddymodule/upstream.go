package caddymodule

import (
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/google/uuid"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// upstreamHeaders are the canonical names of the request headers that tell
// the upstream about the session, in the order of eventFields.
type upstreamHeaders struct {
	prefix string
	names  [len(eventFields)]string
}

func newUpstreamHeaders(prefix string) upstreamHeaders {
	u := upstreamHeaders{prefix: prefix}
	for i, f := range eventFields {
		u.names[i] = textproto.CanonicalMIMEHeaderKey(prefix + f.header)
	}
	return u
}

// strip removes every client-sent header with the prefix, and the tokens
// that name one in Connection (reverse_proxy would otherwise drop the real
// header that replaces it) and in Trailer (a trailer announced under such a
// name). CGI and FastCGI turn "-" into "_", and PHP also "." into "_", so
// X_Session_ID and X.Session.ID would reach such an upstream as
// X-Session-ID: they count as the prefix too.
func (u upstreamHeaders) strip(h http.Header) {
	for name := range h {
		if u.hasPrefix(name) {
			delete(h, name)
		}
	}
	for _, field := range [...]string{"Connection", "Trailer"} {
		values := h[field]
		for i, v := range values {
			if u.mentionsPrefix(v) {
				values[i] = u.dropTokens(v)
			}
		}
	}
}

// hasPrefix reports whether name starts with the prefix, ignoring case and
// the difference between "-", "_" and ".".
func (u upstreamHeaders) hasPrefix(name string) bool {
	if len(name) < len(u.prefix) {
		return false
	}
	for i := range len(u.prefix) {
		if cgiFold(name[i]) != cgiFold(u.prefix[i]) {
			return false
		}
	}
	return true
}

// mentionsPrefix reports whether a Connection value may name a header with
// the prefix: whether any of its tokens could.
func (u upstreamHeaders) mentionsPrefix(v string) bool {
	for tok := range strings.SplitSeq(v, ",") {
		if u.hasPrefix(strings.TrimSpace(tok)) {
			return true
		}
	}
	return false
}

// cgiFold maps a header-name byte to the one CGI variables use for it.
func cgiFold(c byte) byte {
	switch {
	case c == '_' || c == '.':
		return '-'
	case 'a' <= c && c <= 'z':
		return c - 'a' + 'A'
	}
	return c
}

func (u upstreamHeaders) dropTokens(v string) string {
	kept := make([]string, 0, 4)
	for _, tok := range strings.Split(v, ",") {
		if tok = strings.TrimSpace(tok); tok != "" && !u.hasPrefix(tok) {
			kept = append(kept, tok)
		}
	}
	return strings.Join(kept, ", ")
}

// eventText is an event in the text every consumer needs (headers,
// cookies, placeholders, log), formatted once per request.
type eventText struct {
	sessionstore.Event
	clientID, sessionID, eventID, previousID   string
	newClient, newSession, number, eventNumber string
	fallback, consent, fingerprint             string
}

func newEventText(ev sessionstore.Event, fingerprint string) *eventText {
	t := &eventText{
		Event: ev, number: numberString(ev.SessionNumber), eventNumber: numberString(ev.EventNumber),
		fallback: strconv.FormatBool(ev.Fallback), fingerprint: fingerprint,
	}
	// The four IDs share one allocation.
	var buf [4 * uuidLen]byte
	ids := [4]uuid.UUID{ev.ClientID, ev.SessionID, ev.EventID, ev.PreviousEventID}
	for i, id := range ids {
		encodeUUID(buf[i*uuidLen:], id)
	}
	all := string(buf[:])
	texts := [4]*string{&t.clientID, &t.sessionID, &t.eventID, &t.previousID}
	for i, id := range ids {
		if id != uuid.Nil {
			*texts[i] = all[i*uuidLen : (i+1)*uuidLen]
		}
	}
	if ev.ClientID != uuid.Nil { // anonymous events leave these unknown
		t.newClient, t.newSession = strconv.FormatBool(ev.NewClient), strconv.FormatBool(ev.NewSession)
	}
	return t
}

// anonymousEventText is the event of a request that gets an event ID only
// (crawlers, no consent): no identity, and not a fallback.
func anonymousEventText(eventID uuid.UUID, noConsent bool) *eventText {
	t := newEventText(sessionstore.Event{EventID: eventID}, "")
	if noConsent {
		t.consent = "false"
	}
	return t
}

// set hands the event to the upstream as request headers, the known fields
// only. The header map is changed in place: placeholders read the map of
// the original request.
func (u upstreamHeaders) set(h http.Header, ev *eventText) {
	known := 0
	for i := range eventFields {
		if eventFields[i].text(ev) != "" {
			known++
		}
	}
	values := make([]string, 0, known) // one backing array for every header
	for i := range eventFields {
		if v := eventFields[i].text(ev); v != "" {
			values = append(values, v)
			n := len(values)
			h[u.names[i]] = values[n-1 : n : n]
		}
	}
}

// announce makes the event available as {http.session.*} placeholders and
// as the access log's session object. Unknown values are empty
// placeholders and absent log fields.
func announce(r *http.Request, ev *eventText) {
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Map(ev.placeholder)
	}
	if extra, ok := r.Context().Value(caddyhttp.ExtraLogFieldsCtxKey).(*caddyhttp.ExtraLogFields); ok {
		extra.Add(zap.Object("session", ev))
	}
}

// MarshalLogObject writes the event as the access log's session object,
// booleans as booleans: jq .session.new_client gives true or false.
func (ev *eventText) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	for i := range eventFields {
		f := &eventFields[i]
		text := f.text(ev)
		if f.logKey == "" || text == "" {
			continue
		}
		if f.typed == nil {
			enc.AddString(f.logKey, text)
			continue
		}
		switch v := f.typed(ev).(type) {
		case bool:
			enc.AddBool(f.logKey, v)
		case int64:
			enc.AddInt64(f.logKey, v)
		}
	}
	return nil
}

// eventTextKey is the replacer key under which session_info finds the
// request's event itself; the NUL keeps it apart from the placeholders a
// configuration writes.
const eventTextKey = "http.session.\x00event"

// placeholder resolves {http.session.*}; it is a caddy.ReplacerFunc, one per
// request instead of a map entry per value.
func (ev *eventText) placeholder(key string) (any, bool) {
	name, ok := strings.CutPrefix(key, "http.session.")
	if !ok {
		return nil, false
	}
	if key == eventTextKey {
		return ev, true
	}
	for i := range eventFields {
		if f := &eventFields[i]; f.placeholder != "" && f.placeholder == name {
			return f.text(ev), true
		}
	}
	return nil, false
}

func numberString(n int64) string {
	if n <= 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

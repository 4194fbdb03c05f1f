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

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// upstreamHeaders are the canonical names of the request headers that tell
// the upstream about the session.
type upstreamHeaders struct {
	prefix                                   string
	clientID, sessionID, eventID, previousID string
	newClient, newSession                    string
	number, eventNumber, fallback            string
	consent, fingerprint                     string
}

func newUpstreamHeaders(prefix string) upstreamHeaders {
	name := func(s string) string { return textproto.CanonicalMIMEHeaderKey(prefix + s) }
	return upstreamHeaders{
		prefix:   prefix,
		clientID: name("Client-ID"), sessionID: name("ID"), eventID: name("Event-ID"),
		previousID: name("Previous-Event-ID"),
		newClient:  name("New-Client"), newSession: name("New-Session"),
		number: name("Number"), eventNumber: name("Event-Number"), fallback: name("Fallback"),
		consent: name("Consent"), fingerprint: name("Fingerprint"),
	}
}

// strip removes every client-sent header with the prefix, and the Connection
// tokens that name one (reverse_proxy would otherwise drop the real header
// that replaces it).
func (u upstreamHeaders) strip(h http.Header) {
	for name := range h {
		if u.hasPrefix(name) {
			delete(h, name)
		}
	}
	conn := h["Connection"]
	for i, v := range conn {
		if strings.Contains(strings.ToLower(v), strings.ToLower(u.prefix)) {
			conn[i] = u.dropTokens(v)
		}
	}
}

func (u upstreamHeaders) hasPrefix(name string) bool {
	return len(name) >= len(u.prefix) && strings.EqualFold(name[:len(u.prefix)], u.prefix)
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

// set hands the event to the upstream as request headers. The header map is
// changed in place: placeholders read the map of the original request.
func (u upstreamHeaders) set(h http.Header, ev sessionstore.Event) {
	setID(h, u.clientID, ev.ClientID)
	setID(h, u.sessionID, ev.SessionID)
	setID(h, u.eventID, ev.EventID)
	setID(h, u.previousID, ev.PreviousEventID)
	h[u.newClient] = []string{strconv.FormatBool(ev.NewClient)}
	h[u.newSession] = []string{strconv.FormatBool(ev.NewSession)}
	setNumber(h, u.number, ev.SessionNumber)
	setNumber(h, u.eventNumber, ev.EventNumber)
	h[u.fallback] = []string{strconv.FormatBool(ev.Fallback)}
}

// setAnonymous tells the upstream of a request that gets an event ID only
// (crawlers): no identity, and not a fallback.
func (u upstreamHeaders) setAnonymous(h http.Header, eventID uuid.UUID) {
	setID(h, u.eventID, eventID)
	h[u.fallback] = []string{"false"}
}

func setID(h http.Header, name string, id uuid.UUID) {
	if id != uuid.Nil {
		h[name] = []string{id.String()}
	}
}

func setNumber(h http.Header, name string, n int64) {
	if n > 0 {
		h[name] = []string{numberString(n)}
	}
}

// announce sets the {http.session.*} placeholders and the access-log fields.
// Unknown values are empty placeholders and absent log fields.
func announce(r *http.Request, ev sessionstore.Event, fingerprint string) {
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	extra, _ := r.Context().Value(caddyhttp.ExtraLogFieldsCtxKey).(*caddyhttp.ExtraLogFields)
	set := func(key, val string) {
		if repl != nil {
			repl.Set("http.session."+key, val)
		}
		if extra != nil && val != "" && loggedFields[key] {
			extra.Set(zap.String("session."+key, val))
		}
	}
	anonymous := ev.ClientID == uuid.Nil
	set("client_id", idString(ev.ClientID))
	set("id", idString(ev.SessionID))
	set("event_id", idString(ev.EventID))
	set("previous_event_id", idString(ev.PreviousEventID))
	set("new_client", boolString(ev.NewClient, anonymous))
	set("new_session", boolString(ev.NewSession, anonymous))
	set("number", numberString(ev.SessionNumber))
	set("event_number", numberString(ev.EventNumber))
	set("fallback", strconv.FormatBool(ev.Fallback))
	set("fingerprint", fingerprint)
}

func boolString(b, unknown bool) string {
	if unknown {
		return ""
	}
	return strconv.FormatBool(b)
}

func numberString(n int64) string {
	if n <= 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

// loggedFields are the placeholders that also go into the access log.
var loggedFields = map[string]bool{
	"client_id": true, "id": true, "event_id": true,
	"new_client": true, "new_session": true, "fallback": true,
}

func idString(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}

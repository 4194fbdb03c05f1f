package caddymodule

import (
	"strconv"

	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/geoip"
	"github.com/c0f4626f/caddy-session/sessionstore"
)

// eventField is one field of an event under the name each output gives it;
// an empty name leaves the field out of that output. Upstream headers,
// {http.session.*} placeholders, the access log's session object and the
// session_info answer are all generated from eventFields.
type eventField struct {
	header      string // after the header prefix
	placeholder string // after "http.session."
	logKey      string // key in the access log's session object
	jsonKey     string // key in the session_info answer
	// text is the value as headers and placeholders carry it; "" when
	// unknown (absent header, empty placeholder, absent log key, null).
	text func(*eventText) string
	// typed is the value for the log and JSON when it is not text (a bool
	// or an int64); nil for text fields.
	typed func(*eventText) any
}

// eventFields lists every field of an event; the order is the order of the
// log object and of the session_info answer.
var eventFields = [...]eventField{
	{"Client-ID", "client_id", "client_id", "client_id", func(t *eventText) string { return t.clientID }, nil},
	{"ID", "id", "id", "session_id", func(t *eventText) string { return t.sessionID }, nil},
	{"Event-ID", "event_id", "event_id", "event_id", func(t *eventText) string { return t.eventID }, nil},
	{"Previous-Event-ID", "previous_event_id", "", "previous_event_id", func(t *eventText) string { return t.previousID }, nil},
	{"New-Client", "new_client", "new_client", "new_client", func(t *eventText) string { return t.newClient }, func(t *eventText) any { return t.NewClient }},
	{"New-Session", "new_session", "new_session", "new_session", func(t *eventText) string { return t.newSession }, func(t *eventText) any { return t.NewSession }},
	{"Number", "number", "", "session_number", func(t *eventText) string { return t.number }, func(t *eventText) any { return t.SessionNumber }},
	{"Event-Number", "event_number", "", "event_number", func(t *eventText) string { return t.eventNumber }, func(t *eventText) any { return t.EventNumber }},
	{"Fallback", "fallback", "fallback", "fallback", func(t *eventText) string { return t.fallback }, func(t *eventText) any { return t.Fallback }},
	{"Consent", "", "", "", func(t *eventText) string { return t.consent }, nil},
	{"Fingerprint", "fingerprint", "", "", func(t *eventText) string { return t.fingerprint }, nil},
	// The session's first touch (sessionstore.Attribution): the same on
	// every event of the session.
	{"Referrer-Origin", "referrer_origin", "referrer_origin", "referrer_origin", func(t *eventText) string { return t.ReferrerOrigin }, nil},
	{"Utm-Source", "utm_source", "utm_source", "utm_source", func(t *eventText) string { return t.UTMSource }, nil},
	{"Utm-Medium", "utm_medium", "utm_medium", "utm_medium", func(t *eventText) string { return t.UTMMedium }, nil},
	{"Utm-Campaign", "utm_campaign", "utm_campaign", "utm_campaign", func(t *eventText) string { return t.UTMCampaign }, nil},
	{"Utm-Term", "utm_term", "utm_term", "utm_term", func(t *eventText) string { return t.UTMTerm }, nil},
	{"Utm-Content", "utm_content", "utm_content", "utm_content", func(t *eventText) string { return t.UTMContent }, nil},
	{"Click-ID-Param", "click_id_param", "click_id_param", "click_id_param", func(t *eventText) string { return t.ClickIDParam }, nil},
	// Where the event's client IP is (geoip.Location), with geoip on.
	{"Country", "country", "country", "country", func(t *eventText) string { return t.location().Country }, nil},
	{"Continent", "continent", "continent", "continent", func(t *eventText) string { return t.location().Continent }, nil},
	{"Region", "region", "region", "region", func(t *eventText) string { return t.location().Region }, nil},
	{"City", "city", "city", "city", func(t *eventText) string { return t.location().City }, nil},
	// The user the client is bound to: logged only. A long-lived identity
	// cookie is no proof of who is at the browser, so neither the upstream
	// (no header, no placeholder) nor the page (not in session_info) is told.
	{"", "", "user_id", "", func(t *eventText) string { return t.UserID }, nil},
	// reset: the upstream gave this response a new client (upstream_answer.go).
	{"", "", "reset", "", func(t *eventText) string { return t.reset }, func(t *eventText) any { return t.reset != "" }},
}

// value is the field's typed value for the log and JSON; nil when unknown.
func (f *eventField) value(t *eventText) any {
	s := f.text(t)
	switch {
	case s == "":
		return nil
	case f.typed != nil:
		return f.typed(t)
	}
	return s
}

// eventText is an event in the text every consumer needs (headers,
// cookies, placeholders, log), formatted once per request.
type eventText struct {
	sessionstore.Event
	clientID, sessionID, eventID, previousID   string
	newClient, newSession, number, eventNumber string
	fallback, consent, fingerprint             string
	reset                                      string
	// geo is where the client is; nil without geoip, so that the event
	// of a site without it stays as small as before.
	geo *geoip.Location
}

// location is where the event's client is; empty without geoip.
func (t *eventText) location() *geoip.Location {
	if t.geo == nil {
		return &noLocation
	}
	return t.geo
}

var noLocation geoip.Location

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

// recognizedEventText is what a request that is not an event hands on
// about a recognized client: its IDs, but no counters and no new-client or
// new-session flag, which describe events.
func recognizedEventText(ev sessionstore.Event, fingerprint string) *eventText {
	t := newEventText(ev, fingerprint)
	t.newClient, t.newSession = "", ""
	return t
}

func numberString(n int64) string {
	if n <= 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

// encodeUUID writes the canonical lowercase form of id into dst[:36].
func encodeUUID(dst []byte, id uuid.UUID) {
	const hexDigits = "0123456789abcdef"
	j := 0
	for i, b := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst[j] = '-'
			j++
		}
		dst[j], dst[j+1] = hexDigits[b>>4], hexDigits[b&0x0f]
		j += 2
	}
}

package caddymodule

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

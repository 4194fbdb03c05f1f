package caddymodule

import (
	"net/http"
	"net/textproto"
	"strings"
)

// upstreamHeaders are the canonical names of the request headers that tell
// the upstream about the session, in the order of eventFields ("" for a
// field that is not handed upstream), and of the response headers the
// upstream answers with (upstream_answer.go).
type upstreamHeaders struct {
	prefix        string
	names         [len(eventFields)]string
	userID, reset string
}

func newUpstreamHeaders(prefix string) upstreamHeaders {
	u := upstreamHeaders{prefix: prefix,
		userID: textproto.CanonicalMIMEHeaderKey(prefix + answerUserID),
		reset:  textproto.CanonicalMIMEHeaderKey(prefix + answerReset)}
	for i, f := range eventFields {
		if f.header != "" {
			u.names[i] = textproto.CanonicalMIMEHeaderKey(prefix + f.header)
		}
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

// set hands the event to the upstream as request headers, the known fields
// only. The header map is changed in place: placeholders read the map of
// the original request.
func (u upstreamHeaders) set(h http.Header, ev *eventText) {
	known := 0
	for i := range eventFields {
		if u.names[i] != "" && eventFields[i].text(ev) != "" {
			known++
		}
	}
	values := make([]string, 0, known) // one backing array for every header
	for i := range eventFields {
		if v := eventFields[i].text(ev); v != "" && u.names[i] != "" {
			values = append(values, v)
			n := len(values)
			h[u.names[i]] = values[n-1 : n : n]
		}
	}
}

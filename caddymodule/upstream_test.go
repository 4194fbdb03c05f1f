package caddymodule

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// Every spelling that a CGI-style upstream would read as a session header
// is stripped, in names and in Connection tokens; other headers stay.
func TestStripFoldsCGISpellings(t *testing.T) {
	u := newUpstreamHeaders("X-Session-")
	h := http.Header{
		"X-Session-Client-Id": {"a"}, "X_session_client_id": {"b"}, "x.session.id": {"c"},
		"X_SESSION.FALLBACK": {"d"}, "X-Sessions": {"kept"}, "X-Sessio": {"kept"}, "Accept": {"kept"},
		"Connection": {"X_Session_Event_ID, keep-alive, x.session.number", "Upgrade"},
	}
	u.strip(h)
	var left []string
	for name := range h {
		left = append(left, name)
	}
	slices.Sort(left)
	if got := strings.Join(left, " "); got != "Accept Connection X-Sessio X-Sessions" {
		t.Fatalf("headers left: %s", got)
	}
	if got := strings.Join(h["Connection"], " | "); got != "keep-alive | Upgrade" {
		t.Fatalf("Connection left: %q", got)
	}
}

package caddymodule_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// Request trailers are headers too: X-Session-* sent as trailers of a
// chunked request, announced or not, must not reach the upstream; other
// trailers pass.
func TestClientCannotSpoofSessionHeadersInTrailers(t *testing.T) {
	startSite(t, "")
	body := rawRequest(t, "POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"+
		"Trailer: X-Session-Client-ID, X-Other\r\nConnection: close\r\n\r\n"+
		"5\r\nhello\r\n0\r\n"+
		"X-Session-Client-ID: evil\r\nX-Other: kept\r\nX_Session_Fallback: true\r\n\r\n")
	var up received
	if err := json.Unmarshal(body, &up); err != nil {
		t.Fatalf("upstream answer %q: %v", body, err)
	}
	if up.Trailer.Get("X-Other") != "kept" {
		t.Fatalf("the upstream did not get the ordinary trailer, so the test proves nothing: %v", up.Trailer)
	}
	for name := range up.Trailer {
		if isSessionName(name) {
			t.Errorf("a spoofed trailer reached the upstream: %s: %v", name, up.Trailer[name])
		}
	}
	if h := up.Header.Get("X-Session-Client-Id"); h == "" || h == "evil" {
		t.Errorf("the upstream's X-Session-Client-Id is %q", h)
	}
}

// A Trailer header of a request without a chunked body stays among its
// headers (Go makes trailers of it only for chunked bodies), where any
// handler after session reads it: its X-Session-* tokens are cleaned, as
// Connection's are.
func TestTrailerHeaderIsCleanedOfSessionNames(t *testing.T) {
	noteSkip(t)
	caddytest.NewTester(t).InitServer(globalOpt+siteURL+` {
	session {
		secret `+testKey+`
		store_timeout 5s
		store sqlite {
			path `+filepath.Join(t.TempDir(), "sessions.db")+`
		}
	}
	respond "{http.request.header.Trailer}"
}
`, "caddyfile")
	got := rawRequest(t, "POST / HTTP/1.1\r\nHost: localhost\r\n"+
		"Trailer: X-Session-Client-ID, X-Other, x_session_fallback\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	if string(got) != "X-Other" {
		t.Fatalf("after session, the Trailer header reads %q, want %q", got, "X-Other")
	}
}

// rawRequest sends a request exactly as written to the test site and
// returns the body of a 200 answer.
func rawRequest(t *testing.T, request string) []byte {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(siteURL, "http://"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("status %d, %v: %s", res.StatusCode, err, body)
	}
	return body
}

// isSessionName reports whether a header name is one of the session's, in
// any of the spellings CGI folds together.
func isSessionName(name string) bool {
	folded := strings.NewReplacer("_", "-", ".", "-").Replace(strings.ToLower(name))
	return strings.HasPrefix(folded, "x-session-")
}

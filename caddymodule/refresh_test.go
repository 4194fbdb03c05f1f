package caddymodule

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// jarBrowser keeps the cookies a jar sets, as a browser does, and sends
// them back.
type jarBrowser struct {
	jar     *cookieJar
	cookies map[string]string
}

func newJarBrowser(t *testing.T, refresh time.Duration, keys ...[]byte) *jarBrowser {
	t.Helper()
	j, err := newCookieJar(&CookieConfig{}, newSigner(keys), false, refresh)
	if err != nil {
		t.Fatal(err)
	}
	return &jarBrowser{jar: j, cookies: map[string]string{}}
}

// visit answers the event at now to the browser's cookies and returns the
// names of the cookies the response set.
func (b *jarBrowser) visit(ev sessionstore.Event, now time.Time) []string {
	var header []string
	for name, value := range b.cookies {
		header = append(header, name+"="+value)
	}
	r := newRequest(strings.Join(header, "; "))
	h := http.Header{}
	b.jar.write(h, newEventText(ev, ""), b.jar.claim(sentIn(b.jar, r)), now)
	var set []string
	for _, line := range h.Values("Set-Cookie") {
		name, rest, _ := strings.Cut(line, "=")
		value, _, _ := strings.Cut(rest, ";")
		b.cookies[name] = value
		set = append(set, name)
	}
	slices.Sort(set)
	return set
}

var (
	allSix     = []string{"_cs_cID", "_cs_eID", "_cs_sID", "_ss_cID", "_ss_eID", "_ss_sID"}
	eventPair  = []string{"_cs_eID", "_ss_eID"}
	sessionTwo = []string{"_cs_eID", "_cs_sID", "_ss_eID", "_ss_sID"}
)

// The client and session pairs go out when their value changes and when
// they were last sent cookie_refresh ago; the event pair always.
func TestCookiesAreSentWhenChangedOrDue(t *testing.T) {
	b := newJarBrowser(t, time.Hour, keyA)
	t0 := time.Unix(1_800_000_000, 0)
	client := sessionstore.NewID(t0)
	session := client
	event := func(at time.Time) sessionstore.Event {
		return sessionstore.Event{ClientID: client, SessionID: session, EventID: sessionstore.NewID(at)}
	}
	steps := []struct {
		name string
		at   time.Duration
		next func()
		want []string
	}{
		{"first visit", 0, nil, allSix},
		{"same session", time.Minute, nil, eventPair},
		{"new session", 40 * time.Minute, func() { session = sessionstore.NewID(t0.Add(40 * time.Minute)) }, sessionTwo},
		{"same session, not due", 59 * time.Minute, nil, eventPair},
		{"an hour after they were sent", 61 * time.Minute, nil, allSix},
		{"after the renewal", 62 * time.Minute, nil, eventPair},
		{"page script changed the readable cID", 63 * time.Minute, func() { b.cookies["_cs_cID"] = "x" },
			[]string{"_cs_cID", "_cs_eID", "_ss_cID", "_ss_eID"}},
		{"event cookie of an earlier version (no renewal time)", 64 * time.Minute,
			func() { b.cookies["_ss_eID"] = signedText(b.jar.signer, "_ss_eID", event(t0).EventID.String()) }, allSix},
		{"a clock set back", 10 * time.Minute, nil, allSix},
		{"forged renewal time", 65 * time.Minute, func() {
			v := b.cookies["_ss_eID"]
			b.cookies["_ss_eID"] = strings.Replace(v, ".", ".9", 1)
		}, allSix},
	}
	for _, s := range steps {
		if s.next != nil {
			s.next()
		}
		if got := b.visit(event(t0.Add(s.at)), t0.Add(s.at)); !slices.Equal(got, s.want) {
			t.Errorf("%s: set %v, want %v", s.name, got, s.want)
		}
	}
}

// With cookie_refresh off, and after a key rotation, every pair goes out.
func TestCookiesAreSentEveryTimeWhenRefreshIsOff(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	ev := sessionstore.Event{ClientID: sessionstore.NewID(now), EventID: sessionstore.NewID(now)}
	ev.SessionID = ev.ClientID
	off := newJarBrowser(t, 0, keyA)
	off.visit(ev, now)
	if got := off.visit(ev, now.Add(time.Second)); !slices.Equal(got, allSix) {
		t.Errorf("cookie_refresh off: set %v, want all six", got)
	}

	b := newJarBrowser(t, time.Hour, keyA)
	b.visit(ev, now)
	rotated := newJarBrowser(t, time.Hour, keyB, keyA)
	rotated.cookies = b.cookies
	if got := rotated.visit(ev, now.Add(time.Second)); !slices.Equal(got, allSix) {
		t.Errorf("after a key rotation: set %v, want all six, signed with the new key", got)
	}
	if got := rotated.visit(ev, now.Add(2*time.Second)); !slices.Equal(got, eventPair) {
		t.Errorf("after the re-signing: set %v, want the event pair", got)
	}
}

// signedText is the server cookie value of text under name.
func signedText(s *signer, name, text string) string {
	return string(s.appendSigned(nil, name, text))
}

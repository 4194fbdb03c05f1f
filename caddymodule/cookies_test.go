package caddymodule

import (
	"net/http"
	"strings"
	"testing"
)

// Withdrawn consent must expire the cookies with the attributes they were
// set with: a host-only expiry does not remove a Domain cookie, and
// browsers ignore a __Host- cookie without Secure.
func TestExpiryMatchesTheCookiesAttributes(t *testing.T) {
	j, err := newCookieJar(&CookieConfig{Domain: "example.com"}, newSigner([][]byte{keyA}), false)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	if !j.expireIfPresent(h, newRequest("_ss_cID=x; _cs_sID=y")) {
		t.Fatal("no cookie expired")
	}
	want := []string{
		"_ss_cID=; Path=/; Domain=example.com; Max-Age=0; Secure; SameSite=Lax",
		"_cs_sID=; Path=/; Domain=example.com; Max-Age=0; Secure; SameSite=Lax",
	}
	if got := h.Values("Set-Cookie"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("expiry %q, want %q", got, want)
	}
}

// Stripping the signed cookies leaves every other cookie byte for byte.
func TestStripServerCookiesKeepsOthersUntouched(t *testing.T) {
	j, err := newCookieJar(&CookieConfig{}, newSigner([][]byte{keyA}), false)
	if err != nil {
		t.Fatal(err)
	}
	r := newRequest(`a="quoted value"; _ss_cID=x.y; flag; _cs_cID=z;b=2`)
	j.stripServerCookies(r)
	if got, want := r.Header.Get("Cookie"), `a="quoted value"; flag; _cs_cID=z; b=2`; got != want {
		t.Fatalf("upstream Cookie %q, want %q", got, want)
	}
}

package caddymodule

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// Withdrawn consent must expire the cookies with the attributes they were
// set with: a host-only expiry does not remove a Domain cookie, and
// browsers ignore a __Host- cookie without Secure.
func TestExpiryMatchesTheCookiesAttributes(t *testing.T) {
	j, err := newCookieJar(&CookieConfig{Domain: "example.com"}, newSigner([][]byte{keyA}), false, defaultCookieRefresh)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	if !j.expireIfPresent(h, sentIn(j, newRequest("_ss_cID=x; _cs_sID=y"))) {
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
	j, err := newCookieJar(&CookieConfig{}, newSigner([][]byte{keyA}), false, defaultCookieRefresh)
	if err != nil {
		t.Fatal(err)
	}
	for header, want := range map[string]string{
		`a="quoted value"; _ss_cID=x.y; flag; _cs_cID=z;b=2`: `a="quoted value"; flag; _cs_cID=z; b=2`,
		`flag; _ss_sID; b=2`: `flag; b=2`, // a bare name counts as the cookie
		`a=1;b=2`:            `a=1;b=2`,
	} {
		r := newRequest(header)
		j.stripServerCookies(r, sentIn(j, r))
		if got := r.Header.Get("Cookie"); got != want {
			t.Errorf("upstream Cookie %q, want %q", got, want)
		}
	}
}

// sentIn is the request's Cookie header as the handler reads it.
func sentIn(j *cookieJar, r *http.Request) *sentCookies {
	s := j.read(r.Header["Cookie"], nil)
	return &s
}

// forgedCopies is a Cookie header of n well-formed but forged values of
// name, each of which costs a MAC per key unless it is never checked.
func forgedCopies(name string, n int) string {
	forged := name + "=" + sessionstore.NewID(time.Now()).String() + "." + strings.Repeat("A", sigLen)
	return strings.TrimSuffix(strings.Repeat(forged+"; ", n), "; ")
}

// A Cookie header full of forged server cookies costs a bounded number of
// MACs, however many values it repeats.
func TestForgedCookieFloodCostsBoundedMACs(t *testing.T) {
	s, calls := countingSigner()
	j, err := newCookieJar(&CookieConfig{}, s, false, defaultCookieRefresh)
	if err != nil {
		t.Fatal(err)
	}
	header := forgedCopies("_ss_cID", 1000) + "; " + forgedCopies("_ss_sID", 1000) + "; " + forgedCopies("_ss_eID", 1000)
	if c := j.claim(sentIn(j, newRequest(header))); c.ClientID != uuid.Nil {
		t.Fatalf("a forged value verified: %+v", c.Claim)
	}
	if limit := 3 * maxValuesPerName * len(s.keys); *calls > limit {
		t.Fatalf("%d MACs for 3,000 forged values, want at most %d (%d values per name, %d keys)", *calls, limit, maxValuesPerName, len(s.keys))
	}
}

// Only the first few values of a name are checked: a genuine cookie among
// them establishes identity, one behind many forged copies does not.
func TestOnlyTheFirstValuesOfANameAreChecked(t *testing.T) {
	s := newSigner([][]byte{keyA})
	id := sessionstore.NewID(time.Now())
	genuine := "_ss_cID=" + signed(s, "_ss_cID", id)
	for _, tc := range []struct {
		forged int
		want   uuid.UUID
	}{{100, uuid.Nil}, {maxValuesPerName, uuid.Nil}, {maxValuesPerName - 1, id}, {0, id}} {
		j, err := newCookieJar(&CookieConfig{}, s, false, defaultCookieRefresh) // nothing remembered from the other cases
		if err != nil {
			t.Fatal(err)
		}
		header := genuine
		if tc.forged > 0 {
			header = forgedCopies("_ss_cID", tc.forged) + "; " + genuine
		}
		if got := j.claim(sentIn(j, newRequest(header))).ClientID; got != tc.want {
			t.Errorf("genuine cookie after %d forged copies: claimed %s, want %s", tc.forged, got, tc.want)
		}
	}
}

// BenchmarkClaimForgedCookieHeader reads a Cookie header of forged server
// cookies as large as Caddy allows by default (16 KB) and with
// max_header_size 1MB.
func BenchmarkClaimForgedCookieHeader(b *testing.B) {
	keyC := []byte("another-key-of-32-bytes-or-more!!")
	per := len(forgedCopies("_ss_cID", 1)) + 2
	for _, size := range []int{16 << 10, 1 << 20} {
		header := forgedCopies("_ss_cID", size/per)
		for _, keys := range [][][]byte{{keyA}, {keyA, keyB, keyC}} {
			b.Run(fmt.Sprintf("size=%dKB/keys=%d", size>>10, len(keys)), func(b *testing.B) {
				j, err := newCookieJar(&CookieConfig{}, newSigner(keys), false, defaultCookieRefresh)
				if err != nil {
					b.Fatal(err)
				}
				r := newRequest(header)
				b.SetBytes(int64(len(header)))
				for b.Loop() {
					j.claim(sentIn(j, r))
				}
			})
		}
	}
}

// With trust_client_cookies a readable cookie gives the ID only where no
// signed cookie of that name verifies, wherever either stands in the header.
func TestTrustedClientCookiesYieldToSignedOnes(t *testing.T) {
	s := newSigner([][]byte{keyA})
	j, err := newCookieJar(&CookieConfig{}, s, true, defaultCookieRefresh)
	if err != nil {
		t.Fatal(err)
	}
	signedID, clientID := sessionstore.NewID(time.Now()), sessionstore.NewID(time.Now())
	genuine := "_ss_cID=" + signed(s, "_ss_cID", signedID)
	readable := "_cs_cID=" + clientID.String()
	for header, want := range map[string]uuid.UUID{
		genuine + "; " + readable: signedID,
		readable + "; " + genuine: signedID,
		readable:                  clientID,
		forgedCopies("_ss_cID", 1) + "; " + readable: clientID,
		"_cs_cID=not-an-id; " + readable:             clientID,
	} {
		if got := j.claim(sentIn(j, newRequest(header))).ClientID; got != want {
			t.Errorf("%s: claimed %s, want %s", header, got, want)
		}
	}
}

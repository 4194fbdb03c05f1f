package caddymodule

import (
	"hash"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

var (
	keyA = []byte("0123456789abcdef0123456789abcdef")
	keyB = []byte("fedcba9876543210fedcba9876543210")
)

func TestSignVerify(t *testing.T) {
	id := sessionstore.NewID(time.Now())
	s := newSigner([][]byte{keyA})
	v := signed(s, "_ss_cID", id)
	if !strings.HasPrefix(v, id.String()+".") || len(v) != signedLen {
		t.Fatalf("signed value %q", v)
	}
	if got, ok := s.verify("_ss_cID", v); !ok || !got.current || got.id != id || got.renewed != 0 {
		t.Fatalf("verify(own signature) = %+v, %v", got, ok)
	}
	if _, ok := s.verify("_ss_sID", v); ok {
		t.Fatal("a cID signature verified as an sID cookie")
	}
}

func TestKeyRotation(t *testing.T) {
	id := sessionstore.NewID(time.Now())
	old := signed(newSigner([][]byte{keyA}), "_ss_cID", id)
	rotated := newSigner([][]byte{keyB, keyA})
	if got, ok := rotated.verify("_ss_cID", old); !ok || got.current || got.id != id {
		t.Fatalf("older key's cookie: verified %v, current %v; want verified and not current (to be re-signed)", ok, got.current)
	}
	if v := signed(rotated, "_ss_cID", id); v == old {
		t.Fatal("the new first key does not sign")
	}
	if _, ok := newSigner([][]byte{keyB}).verify("_ss_cID", old); ok {
		t.Fatal("a retired key still verifies")
	}
}

func TestTamperedValuesFail(t *testing.T) {
	id := sessionstore.NewID(time.Now())
	s := newSigner([][]byte{keyA})
	v := signed(s, "_ss_cID", id)
	other := sessionstore.NewID(time.Now()).String()
	cases := map[string]string{
		"empty":             "",
		"uuid only":         id.String(),
		"truncated":         v[:len(v)-1],
		"extended":          v + "A",
		"flipped signature": v[:len(v)-1] + flip(v[len(v)-1]),
		"swapped uuid":      other + v[uuidLen:],
		"uppercase uuid":    strings.ToUpper(v[:uuidLen]) + v[uuidLen:],
		"no separator":      v[:uuidLen] + "+" + v[uuidLen+1:],
	}
	for name, val := range cases {
		if _, ok := s.verify("_ss_cID", val); ok {
			t.Errorf("%s: %q verified", name, val)
		}
	}
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func TestEachCookie(t *testing.T) {
	var got []string
	eachCookie([]string{` a=1; b="2" ;; =x; c; d = 4 `, "e=5"}, func(n, v string, pair bool) {
		if pair {
			n += "=" + v
		}
		got = append(got, n)
	})
	want := "a=1 b=2 c d=4 e=5"
	if strings.Join(got, " ") != want {
		t.Fatalf("got %q, want %q", strings.Join(got, " "), want)
	}
}

// FuzzVerify: no input panics, and only the exact signed value verifies.
func FuzzVerify(f *testing.F) {
	s := newSigner([][]byte{keyA, keyB})
	id := uuid.MustParse("01a21c0d-f737-72b1-a48b-6f0c6908e947")
	f.Add("_ss_cID", signed(s, "_ss_cID", id))
	f.Add("_ss_cID", id.String())
	f.Add("x", strings.Repeat("a", signedLen))
	f.Add("_ss_eID", string(s.appendSigned(nil, "_ss_eID", id.String()+".1795860000")))
	f.Add("_ss_eID", id.String()+".0."+strings.Repeat("a", sigLen))
	f.Fuzz(func(t *testing.T, name, value string) {
		v, ok := s.verify(name, value)
		if !ok {
			return
		}
		text := v.id.String()
		if v.renewed != 0 {
			text += "." + strconv.FormatInt(v.renewed, 10)
		}
		if string(s.appendSigned(nil, name, text)) != value && string(newSigner([][]byte{keyB}).appendSigned(nil, name, text)) != value {
			t.Fatalf("%q verified as %+v but is not its signature", value, v)
		}
	})
}

// FuzzCookieHeader: any Cookie header yields parts without separators, and
// stripping server cookies never panics or leaves one behind.
func FuzzCookieHeader(f *testing.F) {
	f.Add("_ss_cID=abc; _cs_cID=def; other=1")
	f.Add(`a="b"; ;=; _ss_sID=` + strings.Repeat("x", 100))
	f.Add("\xff\xfe=\x00; _ss_eID=; _ss_eID=1")
	j, err := newCookieJar(&CookieConfig{}, newSigner([][]byte{keyA}), true, defaultCookieRefresh)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header string) {
		eachCookie([]string{header}, func(n, v string, _ bool) {
			if n == "" || strings.ContainsAny(n, ";=") || strings.Contains(v, ";") {
				t.Fatalf("bad pair %q=%q", n, v)
			}
		})
		r := newRequest(header)
		sent := j.read(r.Header["Cookie"], &ConsentConfig{Cookie: "c"})
		j.claim(&sent)
		j.stripServerCookies(r, &sent)
		for _, line := range r.Header["Cookie"] {
			eachCookie([]string{line}, func(n, _ string, _ bool) {
				if j.isServerCookie(n) {
					t.Fatalf("server cookie %q left in %q", n, line)
				}
			})
		}
	})
}

func newRequest(cookie string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://localhost/", nil)
	r.Header.Set("Cookie", cookie)
	return r
}

// countingHash counts the MACs a key's pooled state computes.
type countingHash struct {
	hash.Hash
	calls *int
}

func (c countingHash) Sum(b []byte) []byte {
	*c.calls++
	return c.Hash.Sum(b)
}

// Verification does the same work whatever the input: every key's MAC is
// computed and compared in constant time, whether the first key matches,
// the last one does, or none.
func TestVerifyDoesTheSameWorkForEveryInput(t *testing.T) {
	s, calls := countingSigner()
	id := sessionstore.NewID(time.Now())
	byFirst := signed(s, "_ss_cID", id)
	byLast := signed(newSigner([][]byte{keyC}), "_ss_cID", id)
	wrong := byFirst[:len(byFirst)-1] + flip(byFirst[len(byFirst)-1])
	for name, value := range map[string]string{"first key": byFirst, "last key": byLast, "no key": wrong} {
		*calls = 0
		s.verify("_ss_cID", value)
		if *calls != 3 {
			t.Errorf("%s: %d MACs computed, want 3 (one per key, always)", name, *calls)
		}
	}
}

// signed is the server-cookie value of id under name.
func signed(s *signer, name string, id uuid.UUID) string {
	return string(s.appendSigned(nil, name, id.String()))
}

// keyC is a third key, for signers that hold several.
var keyC = []byte("another-key-of-32-bytes-or-more!!")

// countingSigner signs with three keys and counts every MAC computed.
func countingSigner() (*signer, *int) {
	s := newSigner([][]byte{keyA, keyB, keyC})
	calls := new(int)
	for _, k := range s.keys {
		fresh := k.pool.New
		k.pool.New = func() any {
			m := fresh().(*macState)
			m.Hash = countingHash{m.Hash, calls}
			return m
		}
	}
	return s, calls
}

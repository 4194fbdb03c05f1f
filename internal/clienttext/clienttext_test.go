package clienttext

import (
	"strings"
	"testing"
)

func TestCleanEscapesControlsAndInvalidUTF8AndCutsOnACharacterBoundary(t *testing.T) {
	for _, c := range []struct {
		in    string
		limit int
		want  string
	}{
		{"/abc", 8, "/abc"}, {"/abcdef", 4, "/abc"}, {"/äö", 4, "/ä"}, {"/ä", 2, "/"}, {"€", 2, ""},
		{"/\xff\xfe\x00\r\n", 64, "/%FF%FE%00%0D%0A"}, {"a\tb\x7f", 64, "a%09b%7F"},
		{"c1\u0085 ls\u2028 bidi\u202e", 64, "c1%C2%85 ls%E2%80%A8 bidi%E2%80%AE"},
		{"/ab\x00", 5, "/ab"}, // never half an escape
		{"/a\x00", 6, "/a%00"}, {"\x00ü", 4, "%00"}, {strings.Repeat("x", 300), 256, strings.Repeat("x", 256)},
	} {
		if got := Clean(c.in, c.limit); got != c.want {
			t.Errorf("Clean(%q, %d) = %q, want %q", c.in, c.limit, got, c.want)
		}
	}
}

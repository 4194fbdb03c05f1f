package caddymodule

import (
	"net/http"
	"slices"
	"testing"
)

func TestVaryOnNavigationKeepsWhatIsThere(t *testing.T) {
	for _, c := range []struct{ before, after []string }{
		{nil, []string{"Sec-Fetch-Mode, Sec-Fetch-Dest, Accept"}},
		{[]string{""}, []string{"Sec-Fetch-Mode, Sec-Fetch-Dest, Accept"}},
		{[]string{"Origin"}, []string{"Origin, Sec-Fetch-Mode, Sec-Fetch-Dest, Accept"}},
		{[]string{"Sec-Fetch-Mode, Sec-Fetch-Dest, Accept", "Accept-Encoding"}, []string{"Sec-Fetch-Mode, Sec-Fetch-Dest, Accept, Accept-Encoding"}},
		{[]string{"accept, sec-fetch-dest"}, []string{"accept, sec-fetch-dest, Sec-Fetch-Mode"}},
		{[]string{"Sec-Fetch-Mode, Sec-Fetch-Dest, Accept"}, []string{"Sec-Fetch-Mode, Sec-Fetch-Dest, Accept"}},
		{[]string{"*"}, []string{"*"}},
	} {
		h := http.Header{}
		if c.before != nil {
			h["Vary"] = slices.Clone(c.before)
		}
		varyOnNavigation(h)
		if got := h["Vary"]; !slices.Equal(got, c.after) {
			t.Errorf("Vary %q became %q, want %q", c.before, got, c.after)
		}
	}
}

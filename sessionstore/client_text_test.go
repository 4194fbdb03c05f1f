package sessionstore

import (
	"strings"
	"testing"
)

func TestOnlyTextsThatNeedNoEscapeAreValidUserIDs(t *testing.T) {
	for id, want := range map[string]bool{
		"alice": true, "=HYPERLINK(1)": true, "ü": true, strings.Repeat("u", MaxUserID): true,
		"": false, "  ": false, "a\x00": false, "a\tb": false, "\xff": false, "a\u202e": false,
		strings.Repeat("u", MaxUserID+1): false,
	} {
		if got := ValidUserID(id); got != want {
			t.Errorf("ValidUserID(%q) = %v, want %v", id, got, want)
		}
	}
}

package sessionstore

import (
	"strings"

	"github.com/c0f4626f/caddy-session/internal/clienttext"
)

// Every text a client controls (the landing path, the utm values, the
// Host a site is named by, the user ID an upstream binds) enters through
// clienttext.Clean, once, where it enters: it becomes header values upstream,
// log fields, export cells and dashboard rows, so it must be valid UTF-8
// without control characters and bounded. A Referer's origin obeys a
// stricter rule of its own (originHost), which implies this one.

// keptText is clienttext.Clean in memory of its own: a request's texts are
// slices of the whole request, which an object must not keep alive.
func keptText(s string, limit int) string {
	return strings.Clone(clienttext.Clean(s, limit))
}

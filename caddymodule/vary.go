package caddymodule

import (
	"net/http"
	"strings"
)

// navigationVary names the request headers isNavigation reads. Under
// events navigations they decide whether a response is an event's (cookies,
// private) or an asset's (no cookie, cacheable), so a shared cache must key
// on them: else it keeps the public answer to a request that claimed to be
// an image and serves it to page loads of the same URL.
var navigationVary = [...]string{"Sec-Fetch-Mode", "Sec-Fetch-Dest", "Accept"}

// navigationVaryLine is navigationVary as one Vary line.
var navigationVaryLine = strings.Join(navigationVary[:], ", ")

// varyOnNavigation makes the Vary header name navigationVary's headers,
// keeping every name already there, on one line: reverse_proxy appends the
// upstream's Vary after ours, and caches such as nginx before 1.23 read
// only the last Vary line of a response.
func varyOnNavigation(h http.Header) {
	values := h["Vary"]
	if len(values) == 0 {
		h["Vary"] = []string{navigationVaryLine} // before the chain: the usual case, cheap
		return
	}
	line := strings.Join(values, ", ")
	added := false
	for _, name := range navigationVary {
		if !listsHeader(values, name) {
			line, added = joinList(line, name), true
		}
	}
	if added || len(values) > 1 {
		h["Vary"] = []string{line}
	}
}

// listsHeader reports whether Vary values name the header (* names all).
func listsHeader(values []string, name string) bool {
	for _, v := range values {
		for token := range strings.SplitSeq(v, ",") {
			token = strings.TrimSpace(token)
			if token == "*" || strings.EqualFold(token, name) {
				return true
			}
		}
	}
	return false
}

func joinList(list, item string) string {
	if strings.TrimSpace(list) == "" {
		return item
	}
	return list + ", " + item
}

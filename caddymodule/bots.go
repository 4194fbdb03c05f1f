package caddymodule

import "bytes"

// botMarkers are lowercase substrings of crawler User-Agents. Crawlers get an
// event ID only: minting clients for them would fill the store with visitors
// who never come back.
var botMarkers = []string{
	"bot", "crawl", "spider", "slurp", "facebookexternalhit", "mediapartners-google",
	"embedly", "bingpreview", "pingdom", "uptimerobot", "ia_archiver", "yandex", "baiduspider",
}

// isBot reports whether a User-Agent (its first 256 bytes) belongs to a
// crawler. Scripts and health checks are not crawlers; they mint clients
// that stay in memory until they come back with their cookie, which they
// never do.
func isBot(userAgent string) bool {
	var buf [256]byte // lowercased on the stack: this runs on every request
	ua := buf[:0]
	for i := 0; i < len(userAgent) && i < len(buf); i++ {
		c := userAgent[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		ua = append(ua, c)
	}
	for _, m := range botMarkers {
		if bytes.Contains(ua, []byte(m)) {
			return true
		}
	}
	return false
}

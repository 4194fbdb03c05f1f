package caddymodule

import "strings"

// botMarkers are lowercase substrings of crawler User-Agents. Crawlers get an
// event ID only: minting clients for them would fill the store with visitors
// who never come back.
var botMarkers = []string{
	"bot", "crawl", "spider", "slurp", "facebookexternalhit", "mediapartners-google",
	"embedly", "bingpreview", "pingdom", "uptimerobot", "ia_archiver", "yandex", "baiduspider",
}

// isBot reports whether a User-Agent belongs to a crawler. Scripts and
// health checks are not crawlers; they mint clients that stay in memory
// until they come back with their cookie, which they never do.
func isBot(userAgent string) bool {
	ua := strings.ToLower(userAgent)
	for _, m := range botMarkers {
		if strings.Contains(ua, m) {
			return true
		}
	}
	return false
}

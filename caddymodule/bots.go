package caddymodule

import "bytes"

// Crawlers get an event ID only: minting clients for them would fill the
// store with visitors who never come back. A crawler is told by a word of
// its User-Agent (a run of letters and digits), never by a part of a word:
// the phone CUBOT NOTE 20 PRO and the Yandex search app (YandexSearch/8.11)
// are people. A word names a crawler when it is
//   - a product name ending in bot, spider or crawler, followed by its
//     version (Googlebot/2.1, AhrefsBot/7.0, Baiduspider/2.0, SEO Spider/19.0);
//   - the name of a crawler that sends no version or hyphenates it
//     (Yahoo! Slurp, Bytespider, PetalBot, Googlebot-Image/1.0,
//     facebookexternalhit/1.1);
//   - or bot, bots, spider, crawler itself (+http://www.google.com/bot.html,
//     Pingdom.com_bot_version_1.4, +http://yandex.com/bots).

// productSuffixes end the name of a crawler's product token.
var productSuffixes = [...]string{"bot", "spider", "crawler"}

// botScan is how much of a User-Agent is read: crawlers name themselves
// early.
const botScan = 256

// isBot reports whether a User-Agent belongs to a crawler. Scripts and
// health checks are not crawlers; they mint clients that stay in memory
// until they come back with their cookie, which they never do.
func isBot(userAgent string) bool {
	var buf [botScan]byte // lowercased on the stack: this runs on every request
	ua := buf[:0]
	for i := 0; i < len(userAgent) && i < len(buf); i++ {
		c := userAgent[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		ua = append(ua, c)
	}
	cut := len(userAgent) > len(ua) // the last word may go on beyond the scan
	for _, a := range crawlerAnchors {
		for from := 0; ; {
			i := bytes.Index(ua[from:], []byte(a))
			if i < 0 {
				break
			}
			start, end := wordAround(ua, from+i, len(a))
			if (end < len(ua) || !cut) && namesCrawler(ua[start:end], ua[end:]) {
				return true
			}
			from = end
		}
	}
	return false
}

// crawlerAnchors are parts of every word namesCrawler accepts, searched for
// first: most User-Agents hold none of them, and the search is fast.
var crawlerAnchors = [...]string{
	"bot", "spider", "crawler", "slurp", "embedly", "pingdom", "mediapartners", "googleother",
	"bingpreview", "external", "facebookcatalog",
}

// wordAround is the word of ua that holds the n bytes at i.
func wordAround(ua []byte, i, n int) (start, end int) {
	start, end = i, i+n
	for start > 0 && isWordByte(ua[start-1]) {
		start--
	}
	for end < len(ua) && isWordByte(ua[end]) {
		end++
	}
	return start, end
}

func isWordByte(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// namesCrawler reports whether a lowercase word, followed by rest, names
// a crawler.
func namesCrawler(word, rest []byte) bool {
	switch string(word) {
	case "bot", "bots", "crawler", "spider", // on their own
		// crawlers without a version, or with a hyphenated name
		"adsbot", "baiduspider", "bingpreview", "bytespider", "duckduckbot", "embedly", "externalagent",
		"externalfetcher", "facebookcatalog", "facebookexternalhit", "googlebot", "googleother",
		"mediapartners", "petalbot", "pingdom", "slackbot", "slurp", "storebot", "telegrambot":
		return true
	}
	if len(rest) == 0 || rest[0] != '/' {
		return false
	}
	for _, s := range productSuffixes {
		if bytes.HasSuffix(word, []byte(s)) {
			return true
		}
	}
	return false
}

package caddymodule

import (
	"strings"

	"github.com/google/uuid"
)

// sentCookies is what the request's Cookie header says about the cookies
// the handler reads, parsed once per request: the first values of each
// signed cookie, the IDs of the readable ones, which names were sent, and
// whether the visitor consented.
type sentCookies struct {
	server      [3][maxValuesPerName]string // the first values of each signed cookie, in order
	servers     [3]int                      // how many values of each signed cookie were sent
	client      [3]uuid.UUID                // the first readable ID of each, with trust_client_cookies
	clientValue [3]string                   // the first value of each readable cookie
	clientSent  [3]bool
	// serverNamed: some part of the header is named like a signed cookie,
	// with or without a value, and is stripped before the upstream sees it.
	serverNamed bool
	consent     bool
}

// read parses the Cookie header lines. consent, when set, names the cookie
// whose presence (with the configured value, if any) is consent.
func (j *cookieJar) read(lines []string, consent *ConsentConfig) sentCookies {
	var s sentCookies
	eachCookie(lines, func(name, value string, pair bool) {
		i := nameIndex(&j.server, name)
		s.serverNamed = s.serverNamed || i >= 0
		if !pair {
			return
		}
		if consent != nil && name == consent.Cookie && (consent.Value == "" || value == consent.Value) {
			s.consent = true
		}
		if i >= 0 {
			if s.servers[i] < maxValuesPerName {
				s.server[i][s.servers[i]] = value
			}
			s.servers[i]++
		} else if i = nameIndex(&j.client, name); i >= 0 {
			if !s.clientSent[i] {
				s.clientValue[i] = value
			}
			s.clientSent[i] = true
			if j.trustClient && s.client[i] == uuid.Nil {
				if id, err := uuid.Parse(value); err == nil && len(value) == uuidLen {
					s.client[i] = id
				}
			}
		}
	})
	return s
}

// nameIndex is the position of name among the cookie names, or -1.
func nameIndex(names *[3]string, name string) int {
	for i := range names {
		if names[i] == name {
			return i
		}
	}
	return -1
}

// serverValues are the values of signed cookie i that are checked.
func (s *sentCookies) serverValues(i int) []string {
	return s.server[i][:min(s.servers[i], maxValuesPerName)]
}

// eachCookie calls fn for every part of Cookie header lines: its name and
// value trimmed of spaces (the value also of quotes), and whether it is a
// name=value pair or a bare name. Parts without a name are skipped. Unlike
// http.Request.Cookies it allocates nothing and tolerates any byte.
func eachCookie(lines []string, fn func(name, value string, pair bool)) {
	for _, line := range lines {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			name, value, pair := strings.Cut(strings.TrimSpace(part), "=")
			if name = strings.TrimSpace(name); name != "" {
				fn(name, strings.Trim(strings.TrimSpace(value), `"`), pair)
			}
		}
	}
}

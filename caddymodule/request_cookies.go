package caddymodule

import "github.com/google/uuid"

// requestCookies is what the handler needs from the request's Cookie header,
// read in one pass: the values of the server cookies to verify, the IDs of
// the client cookies (with trust_client_cookies), which session cookies are
// present, and whether the consent cookie is. Values are slices of the
// header: reading allocates nothing.
type requestCookies struct {
	server  [3][maxValuesPerName]string
	servers [3]int // values kept per server cookie
	client  [3]uuid.UUID
	present [2][3]bool // server, client cookies by ID kind
	consent bool
}

// read parses the Cookie header lines once; consent is the consent cookie
// to look for, if any.
func (j *cookieJar) read(lines []string, consent *ConsentConfig) (rc requestCookies) {
	eachCookie(lines, func(name, value string) {
		if consent != nil && name == consent.Cookie && (consent.Value == "" || value == consent.Value) {
			rc.consent = true
		}
		for i := range 3 {
			switch name {
			case j.server[i]:
				rc.present[0][i] = true
				if n := rc.servers[i]; n < maxValuesPerName {
					rc.server[i][n], rc.servers[i] = value, n+1
				}
			case j.client[i]:
				rc.present[1][i] = true
				if j.trustClient && rc.client[i] == uuid.Nil && len(value) == uuidLen {
					rc.client[i], _ = uuid.Parse(value)
				}
			}
		}
	})
	return rc
}

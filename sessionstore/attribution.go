package sessionstore

import (
	"net/url"
	"strings"
)

// Attribution says where a session came from: its first touch, fixed when
// the session starts and kept by every later event of it.
type Attribution struct {
	// ReferrerOrigin is the scheme://host of the landing request's Referer;
	// empty without one and for a self-referral (a link within the site).
	ReferrerOrigin string
	// The utm_* values of the landing URL, each cut to MaxUTMValue bytes.
	UTMSource, UTMMedium, UTMCampaign, UTMTerm, UTMContent string
	// ClickIDParam is the name of the ad click-ID parameter the landing URL
	// carried (one of clickIDParams); its value is never kept.
	ClickIDParam string
}

// MaxUTMValue bounds each utm_* value an object keeps.
const MaxUTMValue = 128

// clickIDParams are the ad networks' click-ID parameters, in the order of
// preference when a URL carries several.
var clickIDParams = [...]string{"gclid", "fbclid", "msclkid", "ttclid", "li_fat_id", "twclid"}

// Landing is the raw parts of a request that attribute a session. They are
// parsed only when the request starts one: a returning visitor's request
// pays nothing for them.
type Landing struct {
	Query   string // the URL's raw query, without "?"
	Referer string // the Referer header
	Host    string // the request's Host, to tell a self-referral
}

// attribution parses the landing parts, each text through clienttext.Clean (the
// referrer origin, a valid scheme and host, needs nothing more).
func (l Landing) attribution() Attribution {
	a := Attribution{ReferrerOrigin: referrerOrigin(l.Referer, l.Host)}
	if l.Query == "" {
		return a
	}
	q, _ := url.ParseQuery(l.Query) // a malformed pair is skipped, the rest kept
	for _, f := range [...]struct {
		param string
		into  *string
	}{
		{"utm_source", &a.UTMSource}, {"utm_medium", &a.UTMMedium}, {"utm_campaign", &a.UTMCampaign},
		{"utm_term", &a.UTMTerm}, {"utm_content", &a.UTMContent},
	} {
		*f.into = keptText(q.Get(f.param), MaxUTMValue)
	}
	for _, name := range clickIDParams {
		if _, ok := q[name]; ok {
			a.ClickIDParam = name
			break
		}
	}
	return a
}

// referrerOrigin reduces a Referer to scheme://host[:port] (the path may
// carry personal data and is not needed to attribute a session), in the
// form a browser's Origin has: scheme and host in lower case, no default
// port, no trailing dot. It is empty when the Referer names the request's
// own host, and when it has no valid host, a scheme browsers do not send a
// Referer from (referrerSchemes) or makes an origin longer than
// MaxReferrerOrigin: a browser never sends such a Referer, so it is taken
// for no Referer at all.
func referrerOrigin(ref, host string) string {
	if ref == "" {
		return ""
	}
	u, err := url.Parse(ref)
	if err != nil {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	defaultPort, known := referrerSchemes[scheme]
	if !known {
		return ""
	}
	name, ok := originHost(u.Host)
	if !ok || strings.EqualFold(strings.TrimSuffix(u.Hostname(), "."), (&url.URL{Host: host}).Hostname()) {
		return ""
	}
	origin := scheme + "://" + strings.TrimSuffix(name, defaultPort)
	if len(origin) > MaxReferrerOrigin {
		return ""
	}
	return origin
}

// referrerSchemes are the schemes of the pages a browser sends a Referer
// from, with the port each implies (dropped from the origin, as a
// browser's Origin drops it): web pages, and Android apps that open a link
// (android-app://<package>). data:, javascript:, file: and the like never
// reach a Referer.
var referrerSchemes = map[string]string{"https": ":443", "http": ":80", "android-app": ""}

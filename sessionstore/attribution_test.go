package sessionstore

import (
	"strings"
	"testing"
	"time"
)

func TestLandingAttribution(t *testing.T) {
	long := strings.Repeat("x", MaxUTMValue-1) + "ü" // the ü would end past the bound
	tests := []struct {
		name string
		in   Landing
		want Attribution
	}{
		{"nothing", Landing{Host: "site.example"}, Attribution{}},
		{"utm values and a click ID's name", Landing{Query: "utm_source=news&utm_medium=email&utm_campaign=spring%20sale&utm_term=a+b&utm_content=top&gclid=SECRET", Host: "site.example"},
			Attribution{UTMSource: "news", UTMMedium: "email", UTMCampaign: "spring sale", UTMTerm: "a b", UTMContent: "top", ClickIDParam: "gclid"}},
		{"the first value of a repeated parameter", Landing{Query: "utm_source=a&utm_source=b"}, Attribution{UTMSource: "a"}},
		{"click ID names in their order of preference", Landing{Query: "twclid=1&fbclid=2&msclkid=3"}, Attribution{ClickIDParam: "fbclid"}},
		{"a click ID without a value is present", Landing{Query: "li_fat_id"}, Attribution{ClickIDParam: "li_fat_id"}},
		{"not a click ID", Landing{Query: "GCLID=1&gclid_x=2"}, Attribution{}},
		{"cut on a character boundary", Landing{Query: "utm_source=" + long}, Attribution{UTMSource: long[:MaxUTMValue-1]}},
		{"control characters escaped", Landing{Query: "utm_source=a%0D%0AX-Evil:%201%00"}, Attribution{UTMSource: "a%0D%0AX-Evil: 1%00"}},
		{"invalid UTF-8 escaped", Landing{Query: "utm_campaign=%FF%FEsale"}, Attribution{UTMCampaign: "%FF%FEsale"}},
		{"malformed pair skipped, the rest kept", Landing{Query: "utm_medium=%zz&utm_source=ok"}, Attribution{UTMSource: "ok"}},
		{"referrer origin of another site", Landing{Referer: "https://search.example/q?term=private", Host: "site.example"},
			Attribution{ReferrerOrigin: "https://search.example"}},
		{"self-referral", Landing{Referer: "https://site.example/page", Host: "site.example"}, Attribution{}},
		{"self-referral, any port and case", Landing{Referer: "http://Site.Example:8080/page", Host: "site.example:9080"}, Attribution{}},
		{"self-referral, IPv6", Landing{Referer: "http://[::1]:9080/", Host: "[::1]:9080"}, Attribution{}},
		{"a subdomain is another site", Landing{Referer: "https://blog.site.example/", Host: "site.example"},
			Attribution{ReferrerOrigin: "https://blog.site.example"}},
		{"unusable referrer", Landing{Referer: "not a url", Host: "site.example"}, Attribution{}},
		{"host in lower case, port kept, user info dropped", Landing{Referer: "HTTPS://me:pw@News.Example:8443/x", Host: "site.example"},
			Attribution{ReferrerOrigin: "https://news.example:8443"}},
		{"an app's referrer", Landing{Referer: "android-app://com.google.android.gm/", Host: "site.example"},
			Attribution{ReferrerOrigin: "android-app://com.google.android.gm"}},
		{"IP literals", Landing{Referer: "http://[2001:DB8::1]:8080/", Host: "site.example"}, Attribution{ReferrerOrigin: "http://[2001:db8::1]:8080"}},
		{"IPv4", Landing{Referer: "http://192.0.2.1/", Host: "site.example"}, Attribution{ReferrerOrigin: "http://192.0.2.1"}},
	}
	for _, tt := range tests {
		if got := tt.in.attribution(); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

// A Referer whose host is not a host name or an IP address, or whose port
// is not a port, gives no origin: url.Parse accepts all of these.
func TestReferrerWithoutAValidHostHasNoOrigin(t *testing.T) {
	for _, ref := range []string{
		`https://evil.example"><svg onload=x>/`, "https://evil.example%3Cscript%3E/", "https://a..example/",
		"https://exa mple.example/", "https://b\xfccher.example/", "https://" + strings.Repeat("a", 64) + ".example/",
		"https://" + strings.Repeat("abcdefgh.", 15) + "example/", "https://a.example:0/", "https://a.example:65536/",
		"https://a.example:+80/", "https://a.example:/", "http://[fe80::1%25eth0]/", "http://[192.0.2.1]/",
		"http://999.1.1.1/", "http://1.2.3/", "https://-/", "//no-scheme.example/", "https:opaque", "=HYPERLINK(1)",
		"javascript://evil.example/%0Aalert(1)", "data://x.example/", "vbscript://x.example/", "file://host.example/etc",
	} {
		if got := (Landing{Referer: ref, Host: "site.example"}).attribution(); got.ReferrerOrigin != "" {
			t.Errorf("Referer %q: origin %q, want none", ref, got.ReferrerOrigin)
		}
	}
}

// An origin is written as a browser's Origin header would be: default
// ports, a trailing dot and leading zeros of a port do not make another
// referrer.
func TestReferrerOriginIsCanonical(t *testing.T) {
	for ref, want := range map[string]string{
		"https://example.com:443/a":            "https://example.com",
		"HTTP://Example.com:80/":               "http://example.com",
		"http://example.com:080/":              "http://example.com",
		"https://example.com:8443/":            "https://example.com:8443",
		"https://News.Example./":               "https://news.example",
		"android-app://com.google.android.gm/": "android-app://com.google.android.gm",
		"https://site.example./":               "",
	} {
		if got := (Landing{Referer: ref, Host: "site.example"}).attribution().ReferrerOrigin; got != want {
			t.Errorf("Referer %q: origin %q, want %q", ref, got, want)
		}
	}
}

// The attribution is the landing visit's: later events of the session keep
// it whatever they carry, the next session gets its own, and a fallback
// that continues a session does not invent one.
func TestAttributionIsFixedWhenTheSessionStarts(t *testing.T) {
	p := Policy{SessionTimeout: 30 * time.Minute}
	landing := func(now time.Time, prev *Object, query, referer string) (Object, Event) {
		v := visitAt(now, Claim{})
		v.Landing = Landing{Query: query, Referer: referer, Host: "site.example"}
		return applyVisit(prev, v, p)
	}
	obj, first := landing(at(0), nil, "utm_source=news&gclid=X", "https://mail.example/inbox")
	want := Attribution{ReferrerOrigin: "https://mail.example", UTMSource: "news", ClickIDParam: "gclid"}
	if first.Attribution != want || obj.Attribution != want {
		t.Fatalf("landing: event %+v object %+v, want %+v", first.Attribution, obj.Attribution, want)
	}
	obj, later := landing(at(time.Minute), &obj, "utm_source=ads&fbclid=Y", "https://other.example/")
	if later.NewSession || later.Attribution != want || obj.Attribution != want || obj.Session().Attribution != want {
		t.Fatalf("later event of the session: %+v, object %+v, want %+v", later, obj.Attribution, want)
	}
	obj, next := landing(at(time.Hour), &obj, "utm_source=ads", "https://site.example/page")
	if !next.NewSession || next.Attribution != (Attribution{UTMSource: "ads"}) || obj.Attribution != next.Attribution {
		t.Fatalf("next session: %+v, object %+v", next, obj.Attribution)
	}
	v := visitAt(at(time.Hour+time.Minute), Claim{ClientID: obj.ClientID, SessionID: obj.SessionID, EventID: obj.LastEventID})
	v.Landing = Landing{Query: "utm_source=mid-session"}
	if ev := Fallback(v, p, ReasonError); ev.NewSession || ev.Attribution != (Attribution{}) {
		t.Fatalf("fallback within the session: %+v", ev)
	}
}

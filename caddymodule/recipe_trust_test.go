package caddymodule_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/testgeo"
	"github.com/c0f4626f/caddy-session/internal/wait"
)

// recipeFronts starts nginx and the Caddy front, both recipes in front of
// origin and of the service already loaded with caddyFront(frontLog), and
// returns a browser for each, named by its proxy.
func recipeFronts(t *testing.T, origin *upstream) (browsers map[string]*browser, nginxLogs string) {
	t.Helper()
	nginx, caddy := newBrowser(t), newBrowser(t)
	nginx.base, nginxLogs = startNginx(t, origin.addr())
	nginx.host = recipeSite
	caddy.base = caddyFrontURL
	return map[string]*browser{"nginx": nginx, "caddy": caddy}, nginxLogs
}

// No log of the recipes carries a signed cookie value or a visitor's
// cookie (here the application's login cookie): not the service's access
// log, the answer's X-Session-Cookie and X-Session-Set-Cookie-N included;
// not the Caddy front's access log; not nginx's default access and error
// logs. The recipes still work: the origin gets the login cookie, the
// browser its Set-Cookie lines. With log_credentials the service logs the
// answer's copies as Caddy then logs Cookie and Set-Cookie.
func TestRecipesKeepCredentialsOutOfEveryLog(t *testing.T) {
	const login = "LOGIN-SECRET-7f3a9c"
	origin := newUpstream(t)
	svc := &service{trusted: true}
	frontLog := filepath.Join(t.TempDir(), "front.log")
	svc.start(t, caddyFront(t, origin, frontLog))
	browsers, nginxLogs := recipeFronts(t, origin)

	var secrets []string
	for name, b := range browsers {
		b.cookies["app_login"] = login
		for i := range 2 {
			res, up := b.get(fmt.Sprintf("/page-%d", i))
			if c := up.Header.Get("Cookie"); !strings.Contains(c, "app_login="+login) || strings.Contains(c, "_ss_") {
				t.Errorf("%s: origin's Cookie %q, want the login cookie and no signed one", name, c)
			}
			if n := len(res.Header.Values("Set-Cookie")); n == 0 {
				t.Errorf("%s: page %d set no cookie", name, i)
			}
		}
		for cookie, v := range b.cookies {
			if strings.HasPrefix(cookie, "_ss_") {
				secrets = append(secrets, v, v[strings.LastIndexByte(v, '.')+1:])
			}
		}
	}
	if len(secrets) != 12 {
		t.Fatalf("browsers hold %d signed values and signatures, want 12", len(secrets))
	}
	logs := map[string]int{ // each log, and the lines it has when every request is in
		svc.logPath(): 4, frontLog: 2,
		filepath.Join(nginxLogs, "access.log"): 2, filepath.Join(nginxLogs, "error.log"): 0,
	}
	for path, lines := range logs {
		text := waitForLines(t, path, lines)
		for _, secret := range append(secrets, login) {
			if strings.Contains(text, secret) {
				t.Errorf("%s has %q", path, secret)
			}
		}
	}
	// The answers' copies are in the service's log, redacted.
	serviceLog := waitForLines(t, svc.logPath(), 4)
	for _, header := range []string{`"X-Session-Cookie":["REDACTED"]`, `"X-Session-Set-Cookie-1":["REDACTED"]`} {
		if !strings.Contains(serviceLog, header) {
			t.Errorf("service log lacks %s:\n%s", header, serviceLog)
		}
	}

	credentials := &service{trusted: true, logCredentials: true}
	credentials.start(t, caddyFront(t, origin, ""))
	browsers["caddy"].get("/with-log-credentials")
	inClear := regexp.MustCompile(`"X-Session-Cookie":\["[^"]*app_login=` + login)
	if text := waitForLines(t, credentials.logPath(), 1); !inClear.MatchString(text) {
		t.Errorf("with log_credentials the answer's X-Session-Cookie is not logged:\n%s", text)
	}
}

// waitForLines waits until the file has at least n lines and returns it.
func waitForLines(t *testing.T, path string, n int) string {
	t.Helper()
	var text []byte
	if !wait.Until(5*time.Second, 20*time.Millisecond, func() bool {
		var err error
		text, err = os.ReadFile(path)
		return (err == nil || n == 0) && bytes.Count(text, []byte("\n")) >= n
	}) {
		t.Fatalf("%s has %d lines, want %d:\n%s", path, bytes.Count(text, []byte("\n")), n, text)
	}
	return string(text)
}

// forgedRequest is what a visitor sends to fool the origin and the
// service: every field of the event table forged, and the headers a
// trusted proxy names the original request with (another path and UTM
// values, another site, an address in France).
var forgedRequest = []string{
	"X-Session-Client-ID", "forged", "X-Session-ID", "forged", "X-Session-Event-ID", "forged",
	"X-Session-Previous-Event-ID", "forged", "X-Session-New-Client", "forged", "X-Session-New-Session", "forged",
	"X-Session-Number", "forged", "X-Session-Event-Number", "forged", "X-Session-Fallback", "forged",
	"X-Session-Consent", "forged", "X-Session-Fingerprint", "forged", "X-Session-Referrer-Origin", "forged",
	"X-Session-Utm-Source", "forged", "X-Session-Utm-Medium", "forged", "X-Session-Utm-Campaign", "forged",
	"X-Session-Utm-Term", "forged", "X-Session-Utm-Content", "forged", "X-Session-Click-ID-Param", "forged",
	"X-Session-Country", "XX", "X-Session-Continent", "XX", "X-Session-Region", "XX", "X-Session-City", "XX",
	"X-Original-URI", "/forged-original?utm_source=forged", "X-Forwarded-Uri", "/forged-forwarded?utm_source=forged",
	"X-Original-Method", "DELETE", "X-Forwarded-Method", "DELETE",
	"X-Forwarded-Host", "forged.example", "X-Forwarded-For", "192.0.2.7",
}

// Through nginx and through the Caddy front, the origin gets every field
// of the event table from the service, none of a visitor's forged ones,
// and the service records the request the visitor made, not the one its
// headers claim: landing path and UTM values, site, and the address geoip
// places (São Paulo, not the forged address in France).
func TestRecipesHandTheOriginTheRealFields(t *testing.T) {
	db := filepath.Join(t.TempDir(), "geo.mmdb")
	testgeo.Write(t, db, testgeo.City, map[string]testgeo.Place{
		"127.0.0.0/8": saoPaulo, "::1/128": saoPaulo, "192.0.2.0/24": {Country: "FR", Continent: "EU", City: "Paris"},
	})
	origin := newUpstream(t)
	(&service{trusted: true, extra: "geoip " + db + "\n\t\tpersist_new_clients immediately"}).start(t, caddyFront(t, origin, ""))
	browsers, _ := recipeFronts(t, origin)
	const landing = "/landing?utm_source=real-source&utm_medium=real-medium&utm_campaign=real-campaign&utm_term=real-term&utm_content=real-content&gclid=1"

	for name, b := range browsers {
		t.Run(name, func(t *testing.T) {
			b.t = t
			_, up := b.get(landing, append([]string{"Referer", "https://search.example/q"}, forgedRequest...)...)
			expect(t, up.Header, map[string]string{
				"X-Session-Referrer-Origin": "https://search.example", "X-Session-Click-Id-Param": "gclid",
				"X-Session-Utm-Source": "real-source", "X-Session-Utm-Medium": "real-medium", "X-Session-Utm-Campaign": "real-campaign",
				"X-Session-Utm-Term": "real-term", "X-Session-Utm-Content": "real-content",
				"X-Session-Country": "BR", "X-Session-Continent": "SA", "X-Session-Region": "BR-SP", "X-Session-City": "São Paulo",
				"X-Session-New-Client": "true", "X-Session-Number": "1", "X-Session-Fallback": "false",
			})
			for header, values := range up.Header {
				if strings.HasPrefix(header, "X-Session-") && slices.ContainsFunc(values, func(v string) bool { return v == "forged" || v == "XX" }) {
					t.Errorf("origin got %s: %q", header, values)
				}
			}
			var client struct {
				Sessions []struct {
					LandingPath string `json:"landing_path"`
					UTMSource   string `json:"utm_source"`
					Country     string `json:"country"`
				}
			}
			cid := up.Header.Get("X-Session-Client-Id")
			if code := adminDo(t, http.MethodGet, "/session/clients/"+cid, &client); code != http.StatusOK || len(client.Sessions) != 1 {
				t.Fatalf("client %s: %d %+v", cid, code, client)
			}
			if s := client.Sessions[0]; s.LandingPath != "/landing" || s.UTMSource != "real-source" || s.Country != "BR" {
				t.Errorf("stored session %+v, want /landing, real-source, BR", s)
			}
		})
	}

	// A Host the site does not have gets no visit: nginx's default server
	// refuses it, the Caddy front has no site for it.
	for _, base := range []string{browsers["nginx"].base, caddyFrontURL} {
		req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
		req.Host = "forged-host.example"
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}
	var dashboard struct{ Sites []string }
	want := []string{"example.com", "localhost"}
	if !wait.Until(10*time.Second, 50*time.Millisecond, func() bool {
		adminDo(t, http.MethodGet, "/session/dashboard.json", &dashboard)
		slices.Sort(dashboard.Sites)
		return slices.Equal(dashboard.Sites, want)
	}) {
		t.Errorf("dashboard's sites %q, want %q", dashboard.Sites, want)
	}
}

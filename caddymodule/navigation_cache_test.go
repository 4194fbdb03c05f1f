package caddymodule_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// cachedPage asks the test origin for a page a shared cache may keep, with
// a Vary of its own.
const cachedPage = "/article?cc=public,%20max-age=600&answer=Vary:Accept-Encoding"

// Under events navigations, whether a response gets cookies and private
// depends on Sec-Fetch-Mode, Sec-Fetch-Dest and Accept, so the response
// names them in Vary, with the origin's own Vary, on one line.
func TestNavigationsVaryOnWhatDecides(t *testing.T) {
	startSite(t, "events navigations")
	for _, c := range []struct {
		name    string
		headers []string
	}{{"page load", pageLoad}, {"image", imageGet}, {"fetch", fetchCall}} {
		res, _ := newBrowser(t).get(cachedPage, c.headers...)
		got := res.Header.Values("Vary")
		var names []string
		if len(got) == 1 {
			names = strings.Split(got[0], ", ")
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{"Accept", "Accept-Encoding", "Sec-Fetch-Dest", "Sec-Fetch-Mode"}) {
			t.Errorf("%s: Vary %q, want one line of the origin's Accept-Encoding and Sec-Fetch-Mode, Sec-Fetch-Dest, Accept", c.name, got)
		}
	}
}

// A real nginx cache in front of Caddy: an image-claiming request for a
// page gets the public answer, which nginx keeps; a page load of the same
// URL afterwards is not answered from it, and gets its cookies and event.
func TestNavigationsCacheDoesNotServeAnAssetAnswerToAPageLoad(t *testing.T) {
	startSite(t, "events navigations")
	base, _ := runNginx(t, func(addr, dir string) string {
		return fmt.Sprintf(`proxy_cache_path %s keys_zone=pages:1m;
server {
	listen %s;
	location / {
		proxy_pass %s;
		proxy_cache pages;
		add_header X-Cache $upstream_cache_status always;
	}
}
`, filepath.Join(dir, "cache"), addr, siteURL)
	})
	get := func(headers []string) (*http.Response, received) {
		b := newBrowser(t)
		b.base = base
		return b.get(cachedPage, headers...)
	}
	get(imageGet)
	if res, _ := get(imageGet); res.Header.Get("X-Cache") != "HIT" {
		t.Fatalf("nginx did not keep the image answer (X-Cache %q): the test shows nothing", res.Header.Get("X-Cache"))
	}
	res, up := get(pageLoad)
	if cache := res.Header.Get("X-Cache"); cache == "HIT" {
		t.Errorf("a page load was answered from the cache with the image's answer")
	}
	expect(t, up.Header, map[string]string{"X-Session-New-Client": "true", "X-Session-Event-Number": "1"})
	if set := strings.Join(res.Header.Values("Set-Cookie"), "\n"); !strings.Contains(set, "_ss_cID=") {
		t.Errorf("the page load got no client cookie: %q", set)
	}
}

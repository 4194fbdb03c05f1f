package caddymodule_test

import (
	"slices"
	"testing"
)

// A crawler's or a non-consenting visitor's page load gets no cookie but
// is private all the same, whatever the origin says: a shared cache that
// stored it would serve it, without cookies, to the browsers that load the
// page. Under events navigations their assets keep the origin's public.
func TestAnonymousPageLoadsArePrivate(t *testing.T) {
	const public = "/page?cc=public,+max-age=600"
	for _, c := range []struct {
		name, options string
		ua            string
		extra         []string
		want          []string
	}{
		{"crawler", "", "Googlebot/2.1", nil, []string{"private, max-age=600"}},
		{"no consent", "consent cookie analytics yes", "", nil, []string{"private, max-age=600"}},
		{"Sec-GPC", "honor_gpc", "", []string{"Sec-GPC", "1"}, []string{"private, max-age=600"}},
		{"crawler's page load, navigations", "events navigations", "Googlebot/2.1", []string{"Accept", "text/html"}, []string{"private, max-age=600"}},
		{"crawler's asset, navigations", "events navigations", "Googlebot/2.1", []string{"Accept", "image/png"}, []string{"public, max-age=600"}},
		{"crawler, cache_control off", "cache_control off", "Googlebot/2.1", nil, []string{"public, max-age=600"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			startSite(t, c.options)
			b := newBrowser(t)
			if c.ua != "" {
				b.ua = c.ua
			}
			res, up := b.get(public, c.extra...)
			if got := res.Header.Values("Cache-Control"); !slices.Equal(got, c.want) || len(res.Cookies()) != 0 || up.Header.Get("X-Session-Client-Id") != "" {
				t.Errorf("Cache-Control %q, cookies %d, client %q; want %q, none, none", got, len(res.Cookies()), up.Header.Get("X-Session-Client-Id"), c.want)
			}
		})
	}
}

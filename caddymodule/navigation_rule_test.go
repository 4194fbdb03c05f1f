package caddymodule

import (
	"net/http"
	"testing"
)

func TestIsNavigation(t *testing.T) {
	const browserPage = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	tests := []struct {
		name   string
		header http.Header
		want   bool
	}{
		{"page load", http.Header{"Sec-Fetch-Mode": {"navigate"}, "Sec-Fetch-Dest": {"document"}, "Accept": {browserPage}}, true},
		{"mode navigate alone", http.Header{"Sec-Fetch-Mode": {"navigate"}}, true},
		{"dest document alone", http.Header{"Sec-Fetch-Dest": {"document"}}, true},
		{"frame navigation", http.Header{"Sec-Fetch-Mode": {"navigate"}, "Sec-Fetch-Dest": {"iframe"}}, true},
		{"image", http.Header{"Sec-Fetch-Mode": {"no-cors"}, "Sec-Fetch-Dest": {"image"}, "Accept": {"image/avif,image/webp,*/*;q=0.8"}}, false},
		{"script", http.Header{"Sec-Fetch-Mode": {"no-cors"}, "Sec-Fetch-Dest": {"script"}, "Accept": {"*/*"}}, false},
		{"fetch asking for html", http.Header{"Sec-Fetch-Mode": {"cors"}, "Sec-Fetch-Dest": {"empty"}, "Accept": {"text/html"}}, false},
		{"no metadata, page Accept", http.Header{"Accept": {browserPage}}, true},
		{"no metadata, html alone", http.Header{"Accept": {"text/html"}}, true},
		{"no metadata, xhtml alone", http.Header{"Accept": {"application/xhtml+xml"}}, true},
		{"no metadata, html on a second line", http.Header{"Accept": {"application/json;q=0.5", "text/html"}}, true},
		{"no metadata, html after json of equal quality", http.Header{"Accept": {"application/json, text/html"}}, true},
		{"no metadata, wildcard", http.Header{"Accept": {"*/*"}}, false},
		{"no metadata, no Accept", http.Header{}, false},
		{"no metadata, json preferred", http.Header{"Accept": {"application/json, text/html;q=0.9"}}, false},
		{"no metadata, html refused", http.Header{"Accept": {"text/html;q=0, */*"}}, false},
		{"no metadata, html first but refused", http.Header{"Accept": {"text/html;q=0"}}, false},
		{"no metadata, html first but not preferred", http.Header{"Accept": {"text/html;q=0.1, application/json"}}, false},
		{"no metadata, html tied with wildcard", http.Header{"Accept": {"TEXT/HTML ; Q=1, */*"}}, true},
		{"no metadata, bad quality", http.Header{"Accept": {"text/html;q=high, */*;q=0.1"}}, false},
		{"no metadata, NaN quality", http.Header{"Accept": {"text/html;q=NaN"}}, false},
		{"empty metadata, page Accept", http.Header{"Sec-Fetch-Mode": {""}, "Accept": {browserPage}}, true},
		{"blank metadata, page Accept", http.Header{"Sec-Fetch-Mode": {" "}, "Sec-Fetch-Dest": {" "}, "Accept": {browserPage}}, true},
		{"empty dest, image mode", http.Header{"Sec-Fetch-Mode": {"no-cors"}, "Sec-Fetch-Dest": {""}, "Accept": {browserPage}}, false},
		{"no metadata, garbage", http.Header{"Accept": {";;,,=;q=;"}}, false},
	}
	for _, tt := range tests {
		if got := isNavigation(&http.Request{Header: tt.header}); got != tt.want {
			t.Errorf("%s: isNavigation = %v, want %v", tt.name, got, tt.want)
		}
	}
}

package caddymodule

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestUnmarshalCaddyfile(t *testing.T) {
	h := new(Handler)
	err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(`session {
		session_timeout 10m
		session_max_duration 4h
		secret {env.SESSION_KEY} 0123456789abcdef0123456789abcdef
		header_prefix X-Visitor-
		store sqlite {
			path /var/lib/caddy/s.db
			flush_interval 50ms
			durability sync
		}
		store_timeout 20ms
		retention 30d
		bootstrap_window off
		cookie_refresh 12h
		cookie {
			names c s e
			app_prefix __Host-
			same_site strict
			max_age 30d
			client_cookies off
		}
		trust_client_cookies
		skip_bots off
		persist_new_clients immediately
		cache_control off
		cache_size 5000
		events navigations
	}`))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(h)
	for _, want := range []string{
		`"session_timeout":600000000000`, `"session_max_duration":14400000000000`,
		`"secrets":["{env.SESSION_KEY}","0123456789abcdef0123456789abcdef"]`,
		`"header_prefix":"X-Visitor-"`, `"store":{"backend":"sqlite","durability":"sync","flush_interval":50000000,"path":"/var/lib/caddy/s.db"}`,
		`"store_timeout":20000000`, `"retention":2592000000000000`, `"bootstrap_window":0`, `"cookie_refresh":43200000000000`,
		`"names":["c","s","e"]`, `"app_prefix":"__Host-"`, `"same_site":"strict"`, `"client_cookies":false`,
		`"trust_client_cookies":true`, `"skip_bots":false`, `"persist_new_clients":"immediately"`,
		`"cache_control":false`, `"cache_size":5000`, `"events":"navigations"`,
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("config %s lacks %s", got, want)
		}
	}
}

func TestUnmarshalCaddyfileErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		name, input, want string
	}{
		{"unknown subdirective", "session {\n\tbogus 1\n}", "unrecognized subdirective 'bogus', at Testfile:2"},
		{"bad duration", "session {\n\tsession_timeout 5x\n}", "bad duration '5x'"},
		{"negative duration", "session {\n\n\tstore_timeout -1s\n}", "at Testfile:3"},
		{"short secret", "session {\n\tsecret tooshort\n}", "secret #1 is 8 bytes; need at least 32, at Testfile:2"},
		{"same_site none without secure", "session {\n\tcookie {\n\t\tsame_site none\n\t\tsecure off\n\t}\n}", "same_site none requires secure"},
		{"__Host- with domain", "session {\n\tcookie {\n\t\tapp_prefix __Host-\n\t\tdomain example.com\n\t}\n}", "__Host-"},
		{"__Host- as server prefix with another path", "session {\n\tcookie {\n\t\tserver_prefix __Host-s_\n\t\tpath /app\n\t}\n}", "__Host-"},
		{"unknown store", "session {\n\tstore mongo\n}", "unknown store 'mongo', at Testfile:2"},
		{"bad durability", "session {\n\tstore sqlite {\n\t\tdurability maybe\n\t}\n}", "at Testfile:3"},
		{"bad switch", "session {\n\tskip_bots yes\n}", "want on or off"},
		{"attribute injection", "session {\n\tcookie {\n\t\tpath /;Domain=evil.example\n\t}\n}", "must not contain separators"},
		{"two names", "session {\n\tcookie {\n\t\tnames a b\n\t}\n}", "three names"},
		{"duplicate", "session {\n\tretention 1d\n\tretention 2d\n}", "duplicate subdirective 'retention', at Testfile:3"},
		{"argument on directive", "session foo", "wrong argument count"},
		{"redis without secret", "session {\n\tretention 1d\n\tstore redis {\n\t\taddress localhost:6379\n\t}\n}", "store redis needs secret: every instance must sign cookies with the same key, at Testfile:3"},
		{"unknown redis option", "session {\n\tsecret 0123456789abcdef0123456789abcdef\n\tstore redis {\n\t\tsentinel x\n\t}\n}", "unrecognized store redis option 'sentinel', at Testfile:4"},
		{"missing argument", "session {\n\tsession_timeout\n}", "wrong argument count"},
		{"bad events", "session {\n\tretention 1d\n\tevents pages\n}", "events must be all or navigations, not \"pages\", at Testfile:3"},
		{"events without argument", "session {\n\tevents\n}", "wrong argument count"},
		{"cookie_refresh over half the max_age", "session {\n\tcookie {\n\t\tmax_age 2d\n\t}\n\tcookie_refresh 25h\n}", "cookie_refresh must be at most half the cookies' max_age: a visitor keeps its identity for max_age minus cookie_refresh after its last visit, at Testfile:5"},
		{"negative cookie_refresh", "session {\n\tcookie_refresh -1h\n}", "cookie_refresh must not be negative, at Testfile:2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := new(Handler).UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestCookieAttributes(t *testing.T) {
	off := false
	tests := []struct {
		cfg  CookieConfig
		want string
	}{
		{CookieConfig{}, "; Path=/; Max-Age=34560000; Secure; SameSite=Lax"},
		{CookieConfig{Domain: "example.com", Path: "/app", SameSite: "strict", Secure: &off}, "; Path=/app; Domain=example.com; Max-Age=34560000; SameSite=Strict"},
	}
	for _, tt := range tests {
		if got := tt.cfg.withDefaults().attributes(); got != tt.want {
			t.Errorf("attributes %q, want %q", got, tt.want)
		}
	}
}

func TestUnmarshalRedisStore(t *testing.T) {
	h := new(Handler)
	err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(`session {
		store redis {
			address 10.0.0.1:6379 10.0.0.2:6379
			master_name main
			username caddy
			password {env.REDIS_PASSWORD}
			db 0
			key_prefix site:
			tls
		}
		secret {env.SESSION_KEY}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"address":["10.0.0.1:6379","10.0.0.2:6379"],"backend":"redis","key_prefix":"site:","master_name":"main","password":"{env.REDIS_PASSWORD}","tls":true,"username":"caddy"}`
	if string(h.StoreRaw) != want {
		t.Fatalf("store %s, want %s", h.StoreRaw, want)
	}
}

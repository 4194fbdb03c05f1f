package caddymodule

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// Each rule is Validate's; the Caddyfile parser reports Validate's words at
// the line that broke the rule.
func TestCaddyfileReportsValidateErrorsAtTheLine(t *testing.T) {
	tests := []struct{ name, input, want string }{
		{"negative duration", "session {\n\tretention 1d\n\tsession_timeout -1s\n}", "session_timeout must not be negative, at Testfile:3"},
		{"negative cache size", "session {\n\tcache_size -1\n}", "cache_size must not be negative, at Testfile:2"},
		{"unknown persist mode", "session {\n\tpersist_new_clients later\n}", `persist_new_clients must be on_return or immediately, not "later", at Testfile:2`},
		{"short second secret", "session {\n\tsecret {env.K} short\n}", "secret #2 is 5 bytes; need at least 32, at Testfile:2"},
		{"cookie rule", "session {\n\tcookie {\n\t\tsame_site sometimes\n\t}\n}", `cookie: same_site must be lax, strict or none, not "sometimes"`},
		{"negative flush interval", "session {\n\tstore sqlite {\n\t\tpath x.db\n\t\tflush_interval -1s\n\t}\n}", "flush_interval must not be negative, at Testfile:4"},
		{"bad durability", "session {\n\tstore sqlite {\n\t\tdurability maybe\n\t}\n}", `durability must be batched or sync, not "maybe", at Testfile:3`},
		{"negative redis db", "session {\n\tsecret 0123456789abcdef0123456789abcdef\n\tstore redis {\n\t\tdb -1\n\t}\n}", "redis db must not be negative, at Testfile:4"},
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

// A JSON config, which no parser checked, meets the same rules.
func TestValidateChecksJSONConfig(t *testing.T) {
	tests := []struct{ config, want string }{
		{`{"retention":-1}`, "retention must not be negative"},
		{`{"secrets":["short"]}`, "secret #1 is 5 bytes; need at least 32"},
		{`{"cookie":{"names":["a","b"]}}`, "cookie: names takes three names"},
	}
	for _, tt := range tests {
		var h Handler
		if err := json.Unmarshal([]byte(tt.config), &h); err != nil {
			t.Fatal(err)
		}
		if err := h.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want it to contain %q", tt.config, err, tt.want)
		}
	}
}

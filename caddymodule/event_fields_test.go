package caddymodule

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/c0f4626f/caddy-session/geoip"
	"github.com/c0f4626f/caddy-session/sessionstore"
)

// The names README's "What the upstream sees" and "session_info" promise, in
// order, then the session's first touch and the geo fields under the names
// README documents.
var (
	analyticsKeys = []string{"referrer_origin", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "click_id_param",
		"country", "continent", "region", "city"}
	specHeaders = []string{
		"X-Session-Client-Id", "X-Session-Id", "X-Session-Event-Id", "X-Session-Previous-Event-Id",
		"X-Session-New-Client", "X-Session-New-Session", "X-Session-Number", "X-Session-Event-Number",
		"X-Session-Fallback", "X-Session-Consent", "X-Session-Fingerprint",
		"X-Session-Referrer-Origin", "X-Session-Utm-Source", "X-Session-Utm-Medium", "X-Session-Utm-Campaign",
		"X-Session-Utm-Term", "X-Session-Utm-Content", "X-Session-Click-Id-Param",
		"X-Session-Country", "X-Session-Continent", "X-Session-Region", "X-Session-City",
	}
	specPlaceholders = append([]string{
		"client_id", "id", "event_id", "previous_event_id", "new_client", "new_session",
		"number", "event_number", "fallback", "fingerprint",
	}, analyticsKeys...)
	specLogKeys = append(append([]string{"client_id", "id", "event_id", "new_client", "new_session", "fallback"},
		analyticsKeys...), "user_id", "reset")
	specJSONKeys = append([]string{
		"client_id", "session_id", "event_id", "previous_event_id", "new_client", "new_session",
		"session_number", "event_number", "fallback",
	}, analyticsKeys...)
)

// fullEvent has every field known: a returning client with a fingerprint,
// bound to a user, whose response reset it.
func fullEvent() *eventText {
	now := time.Now()
	t := newEventText(sessionstore.Event{
		ClientID: sessionstore.NewID(now), SessionID: sessionstore.NewID(now), EventID: sessionstore.NewID(now),
		PreviousEventID: sessionstore.NewID(now), SessionNumber: 3, EventNumber: 7,
		Attribution: sessionstore.Attribution{ReferrerOrigin: "https://ref.example", UTMSource: "news", UTMMedium: "email",
			UTMCampaign: "spring", UTMTerm: "shoes", UTMContent: "top", ClickIDParam: "gclid"},
		UserID: "user-42",
	}, "fp")
	t.reset = "true"
	t.geo = &geoip.Location{Country: "US", Continent: "NA", Region: "US-CA", City: "San Francisco"}
	return t
}

// Every output generated from eventFields carries exactly the SPEC's names.
func TestEventFieldsCoverTheSpec(t *testing.T) {
	full, noConsent := fullEvent(), anonymousEventText(sessionstore.NewID(time.Now()), true)
	u := newUpstreamHeaders(defaultHeaderPrefix)

	var headers []string
	for _, ev := range []*eventText{full, noConsent} {
		h := http.Header{}
		u.set(h, ev)
		for name := range h {
			if !slices.Contains(headers, name) {
				headers = append(headers, name)
			}
		}
	}
	sameSet(t, "headers", headers, specHeaders)

	for _, name := range specPlaceholders {
		if v, ok := full.placeholder("http.session." + name); !ok || v == "" {
			t.Errorf("placeholder %s = %q, %v", name, v, ok)
		}
	}
	var placeholders []string
	for _, f := range eventFields {
		if f.placeholder != "" {
			placeholders = append(placeholders, f.placeholder)
		}
	}
	sameSet(t, "placeholders", placeholders, specPlaceholders)

	log := zapcore.NewMapObjectEncoder()
	if err := full.MarshalLogObject(log); err != nil {
		t.Fatal(err)
	}
	var logKeys []string
	for k, v := range log.Fields {
		logKeys = append(logKeys, k)
		if _, isBool := v.(bool); isBool != slices.Contains([]string{"new_client", "new_session", "fallback", "reset"}, k) {
			t.Errorf("log %s is %T", k, v)
		}
	}
	sameSet(t, "log keys", logKeys, specLogKeys)

	body, err := json.Marshal(sessionInfoBody{full})
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var jsonKeys []string
	dec.Token() // {
	for dec.More() {
		key, _ := dec.Token()
		jsonKeys = append(jsonKeys, key.(string))
		var v any
		if err := dec.Decode(&v); err != nil || v == nil {
			t.Errorf("session_info %s = %v, %v", key, v, err)
		}
	}
	if !slices.Equal(jsonKeys, specJSONKeys) {
		t.Errorf("session_info keys %v, want %v in this order", jsonKeys, specJSONKeys)
	}
}

func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("%s %v, want %v", what, got, want)
	}
}

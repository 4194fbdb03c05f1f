package caddymodule

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/google/uuid"
)

// isNavigation reports whether the request is a top-level page load, by
// Fetch Metadata when the browser sends it (Sec-Fetch-Mode: navigate or
// Sec-Fetch-Dest: document), else by an Accept header that prefers HTML.
// An empty Fetch Metadata header counts as absent: shared caches key an
// empty header as a missing one (Vary), so deciding otherwise would let a
// request with empty ones store an answer that page loads are then given.
func isNavigation(r *http.Request) bool {
	mode, dest := firstValue(r.Header["Sec-Fetch-Mode"]), firstValue(r.Header["Sec-Fetch-Dest"])
	if mode != "" || dest != "" {
		return strings.EqualFold(mode, "navigate") || strings.EqualFold(dest, "document")
	}
	return prefersHTML(r.Header["Accept"])
}

// firstValue is the first line of a header, trimmed; "" when absent.
func firstValue(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return strings.TrimSpace(values[0])
}

// prefersHTML reports whether an Accept header names HTML (text/html or
// application/xhtml+xml) with a quality no other media range beats, as a
// browser's page load does. A wildcard alone (*/*, as fetch, scripts and
// curl send) does not count, nor HTML listed after what is preferred.
func prefersHTML(accept []string) bool {
	html, best := 0.0, 0.0
	for _, line := range accept {
		for mediaRange := range strings.SplitSeq(line, ",") {
			mediaType, params, _ := strings.Cut(mediaRange, ";")
			q := quality(params)
			if isHTML(strings.TrimSpace(mediaType)) {
				html = max(html, q)
			}
			best = max(best, q)
		}
	}
	return html > 0 && html >= best
}

func isHTML(mediaType string) bool {
	return strings.EqualFold(mediaType, "text/html") || strings.EqualFold(mediaType, "application/xhtml+xml")
}

// quality is the q parameter among a media range's parameters: 1 when
// absent, 0 when it is not a number from 0 to 1.
func quality(params string) float64 {
	for param := range strings.SplitSeq(params, ";") {
		name, value, _ := strings.Cut(param, "=")
		if !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || !(q >= 0 && q <= 1) {
			return 0
		}
		return q
	}
	return 1
}

// serveSubresource passes on a request that is not an event under events
// navigations (an image, a script, a fetch): a client whose cookies verify
// and that was not erased is recognized without a store call, and the
// upstream gets its client and session, the page's event as the previous
// one and a fresh event ID; others get an event ID only. Nothing is stored,
// set or made private, so that the response stays cacheable.
//
// The upstream's answer to such a request (a login or logout by fetch) is
// acted on as an event's: it binds or resets the recognized client.
func (h *Handler) serveSubresource(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, sent *sentCookies, c claimed, eventID uuid.UUID, now time.Time) error {
	ev, known := h.store.Recognize(c.Claim, eventID, now)
	if !known {
		return h.serveAnonymous(w, r, next, sent, eventID, false)
	}
	text := recognizedEventText(ev, h.fingerprintIfOn(r))
	return h.passOn(h.newSessionWriter(w, r, text, c.Claim, false), r, next, sent, text)
}

package caddymodule

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(SessionInfo{})
	httpcaddyfile.RegisterHandlerDirective("session_info", parseSessionInfo)
	httpcaddyfile.RegisterDirectiveOrder("session_info", httpcaddyfile.Before, "respond")
}

// SessionInfo responds with the session of this request as JSON, for
// single-page apps and for other proxies that call Caddy as a session
// service. The session handler must run before it (it does by default).
type SessionInfo struct{}

// CaddyModule returns the Caddy module information.
func (SessionInfo) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.session_info",
		New: func() caddy.Module { return new(SessionInfo) },
	}
}

// sessionInfoBody is the response; unknown values are null.
type sessionInfoBody struct {
	ClientID        *string `json:"client_id"`
	SessionID       *string `json:"session_id"`
	EventID         *string `json:"event_id"`
	PreviousEventID *string `json:"previous_event_id"`
	NewClient       *bool   `json:"new_client"`
	NewSession      *bool   `json:"new_session"`
	SessionNumber   *int64  `json:"session_number"`
	EventNumber     *int64  `json:"event_number"`
	Fallback        *bool   `json:"fallback"`
}

// ServeHTTP implements caddyhttp.MiddlewareHandler. It terminates the chain.
func (SessionInfo) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	get := func(key string) string {
		v, _ := repl.GetString("http.session." + key)
		return v
	}
	body := sessionInfoBody{
		ClientID: optString(get("client_id")), SessionID: optString(get("id")),
		EventID: optString(get("event_id")), PreviousEventID: optString(get("previous_event_id")),
		NewClient: optBool(get("new_client")), NewSession: optBool(get("new_session")),
		SessionNumber: optInt(get("number")), EventNumber: optInt(get("event_number")),
		Fallback: optBool(get("fallback")),
	}
	if body.EventID == nil {
		return caddyhttp.Error(http.StatusInternalServerError, errors.New("session_info: no session handler ran before it"))
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, body)
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optBool(s string) *bool {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return nil
	}
	return &b
}

func optInt(s string) *int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil
	}
	return &n
}

// parseSessionInfo sets up the handler. Syntax:
//
//	session_info [<matcher>]
func parseSessionInfo(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	s := new(SessionInfo)
	return s, s.UnmarshalCaddyfile(h.Dispenser)
}

// UnmarshalCaddyfile takes no arguments.
func (s *SessionInfo) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() || d.NextBlock(0) {
		return d.ArgErr()
	}
	return nil
}

// Interface guards
var (
	_ caddyhttp.MiddlewareHandler = (*SessionInfo)(nil)
	_ caddyfile.Unmarshaler       = (*SessionInfo)(nil)
)

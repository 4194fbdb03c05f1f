package caddymodule

import (
	"encoding/json"
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

// ServeHTTP implements caddyhttp.MiddlewareHandler. It terminates the chain.
func (SessionInfo) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	ev, _ := repl.Get(eventTextKey)
	text, ok := ev.(*eventText)
	if !ok {
		return caddyhttp.Error(http.StatusInternalServerError, errors.New("session_info: no session handler ran before it"))
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, sessionInfoBody{text})
}

// sessionInfoBody is the answer: every field with a JSON key, in table
// order; unknown values are null.
type sessionInfoBody struct{ *eventText }

// MarshalJSON writes the fields of eventFields that have a JSON key.
func (b sessionInfoBody) MarshalJSON() ([]byte, error) {
	buf := []byte{'{'}
	for i := range eventFields {
		f := &eventFields[i]
		if f.jsonKey == "" {
			continue
		}
		value, err := json.Marshal(f.value(b.eventText))
		if err != nil {
			return nil, err
		}
		if len(buf) > 1 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendQuote(buf, f.jsonKey)
		buf = append(buf, ':')
		buf = append(buf, value...)
	}
	return append(buf, '}'), nil
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

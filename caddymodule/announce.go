package caddymodule

import (
	"context"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// announce makes the event available as {http.session.*} placeholders and
// as the access log's session object. Unknown values are empty
// placeholders and absent log fields.
func announce(r *http.Request, ev *eventText) {
	ctx := r.Context()
	if repl, ok := ctx.Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Map(ev.placeholder)
	}
	if !accessLogged(ctx) {
		return
	}
	if extra, ok := ctx.Value(caddyhttp.ExtraLogFieldsCtxKey).(*caddyhttp.ExtraLogFields); ok {
		extra.Add(zap.Object("session", ev))
	}
}

// accessLogged reports whether the server may write access logs: adding a
// field costs about half a microsecond (it also clears Caddy's cache of
// loggers carrying the fields), wasted on a server without them.
func accessLogged(ctx context.Context) bool {
	srv, ok := ctx.Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server)
	return !ok || srv.Logs != nil
}

// MarshalLogObject writes the event as the access log's session object,
// booleans as booleans: jq .session.new_client gives true or false.
func (ev *eventText) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	for i := range eventFields {
		f := &eventFields[i]
		text := f.text(ev)
		if f.logKey == "" || text == "" {
			continue
		}
		if f.typed == nil {
			enc.AddString(f.logKey, text)
			continue
		}
		switch v := f.typed(ev).(type) {
		case bool:
			enc.AddBool(f.logKey, v)
		case int64:
			enc.AddInt64(f.logKey, v)
		}
	}
	return nil
}

// eventTextKey is the replacer key under which session_info finds the
// request's event itself; the NUL keeps it apart from the placeholders a
// configuration writes.
const eventTextKey = "http.session.\x00event"

// placeholder resolves {http.session.*}; it is a caddy.ReplacerFunc, one per
// request instead of a map entry per value.
func (ev *eventText) placeholder(key string) (any, bool) {
	name, ok := strings.CutPrefix(key, "http.session.")
	if !ok {
		return nil, false
	}
	if key == eventTextKey {
		return ev, true
	}
	for i := range eventFields {
		if f := &eventFields[i]; f.placeholder != "" && f.placeholder == name {
			return f.text(ev), true
		}
	}
	return nil, false
}

package caddymodule_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// flushFirst is a handler that flushes before it writes the header, as a
// streaming handler may: it answers with a login and a public
// Cache-Control, flushes, then writes the body.
type flushFirst struct{}

func init() {
	caddy.RegisterModule(new(flushFirst))
	httpcaddyfile.RegisterHandlerDirective("flush_first", func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		h.Next()
		return new(flushFirst), nil
	})
}

func (flushFirst) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "http.handlers.flush_first", New: func() caddy.Module { return new(flushFirst) }}
}

func (*flushFirst) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	w.Header().Set("X-Session-User-ID", "alice")
	w.Header().Set("Cache-Control", "public, max-age=600")
	if err := http.NewResponseController(w).Flush(); err != nil {
		return err
	}
	_, err := w.Write([]byte(`{"header":{}}`))
	return err
}

// A handler that flushes before writing the header still has its session
// answer taken off the response and acted on, and the response with
// session cookies stays private.
func TestAFlushBeforeTheHeaderStillTakesTheAnswer(t *testing.T) {
	noteSkip(t)
	tester := caddytest.NewTester(t)
	tester.InitServer(globalOpt+fmt.Sprintf(`
%s {
	route {
		session {
			secret %s
			%s
		}
		flush_first
	}
}
`, siteURL, testKey, sqliteBlock(filepath.Join(t.TempDir(), "sessions.db"))), "caddyfile")
	b := newBrowser(t)
	res, _ := b.get("/")
	if v := res.Header.Get("X-Session-User-ID"); v != "" {
		t.Errorf("the browser got the handler's X-Session-User-ID: %q", v)
	}
	if cc := strings.Join(res.Header.Values("Cache-Control"), ", "); !strings.Contains(cc, "private") || strings.Contains(cc, "public") {
		t.Errorf("Cache-Control %q, want private", cc)
	}
}

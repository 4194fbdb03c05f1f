// Package caddysession registers the session plugin with Caddy. Build Caddy
// with it: xcaddy build --with github.com/c0f4626f/caddy-session
package caddysession

import (
	// The Caddy modules: http.handlers.session and its store back ends.
	_ "github.com/c0f4626f/caddy-session/caddymodule"
)

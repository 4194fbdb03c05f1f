// Command caddy is Caddy with the session plugin, for development, tests and
// benchmarks without an xcaddy build.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/c0f4626f/caddy-session/caddymodule"
)

func main() {
	caddycmd.Main()
}

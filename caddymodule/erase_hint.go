package caddymodule

import (
	"fmt"
	"strings"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

// adminEraseHint tells how to send DELETE path to the admin API of the
// Caddy that holds the database. Its address is found the way 'caddy reload'
// finds it: --address, else the config's admin address (--config with
// --adapter, or a Caddyfile in the current directory), else the default.
func adminEraseHint(cmd *cobra.Command, path string) string {
	addr, err := adminAddress(cmd.Flag("address").Value.String(), cmd.Flag("config").Value.String(), cmd.Flag("adapter").Value.String())
	if err != nil {
		return fmt.Sprintf("erase through its admin API (its address is unknown: %v; give it with --address)", err)
	}
	hint := "erase through its admin API: " + curlDelete(addr, path)
	if addr == caddy.DefaultAdminListen {
		hint += "\n(Caddy's default admin address; if yours is elsewhere, give --config <Caddyfile> or --address)"
	}
	return hint
}

func adminAddress(address, config, adapter string) (string, error) {
	if address != "" {
		return address, nil
	}
	loaded, file, _, err := caddycmd.LoadConfig(config, adapter)
	if err != nil {
		return "", err
	}
	return caddycmd.DetermineAdminAPIAddress("", loaded, file, adapter)
}

// curlDelete is the curl command that sends DELETE path (escaped, no quote
// in it) to the admin endpoint at addr, a Caddy network address
// (host:port or unix//socket), quoted for the shell.
func curlDelete(addr, path string) string {
	na, err := caddy.ParseNetworkAddress(addr)
	switch {
	case err != nil || na.IsFdNetwork():
		return fmt.Sprintf("DELETE %s at %s", path, addr)
	case na.IsUnixNetwork():
		socket, _, _ := strings.Cut(na.Host, "|") // drop the optional |mode suffix
		return fmt.Sprintf("curl --unix-socket '%s' -X DELETE 'http://localhost%s'", socket, path)
	}
	if na.Host == "" {
		na.Host = "localhost"
	}
	return fmt.Sprintf("curl -X DELETE 'http://%s%s'", na.JoinHostPort(0), path)
}

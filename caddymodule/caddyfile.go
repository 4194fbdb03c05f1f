package caddymodule

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/c0f4626f/caddy-session/geoip"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("session", parseCaddyfile)
	// Before header: ahead of handle, route, respond and reverse_proxy, so
	// every request of the site gets its identity without an order option.
	httpcaddyfile.RegisterDirectiveOrder("session", httpcaddyfile.Before, "header")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	s := new(Handler)
	err := s.UnmarshalCaddyfile(h.Dispenser)
	return s, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	session [<matcher>] {
//	    session_timeout      <duration>
//	    session_max_duration <duration>
//	    secret               <key> [<older key>...]
//	    header_prefix        <prefix>
//	    store sqlite {
//	        path           <file>
//	        flush_interval <duration>
//	        durability     batched|sync
//	    }
//	    store redis {
//	        address    <host:port> [...]
//	        master_name <name>
//	        username   <user>
//	        password   <password>
//	        db         <n>
//	        key_prefix <prefix>
//	        tls
//	    }
//	    store_timeout        <duration>
//	    retention            <duration>
//	    bootstrap_window     <duration>|off
//	    cookie_refresh       <duration>|off
//	    cookie {
//	        names          <client> <session> <event>
//	        app_prefix     <prefix>
//	        server_prefix  <prefix>
//	        client_prefix  <prefix>
//	        domain         <domain>
//	        path           <path>
//	        same_site      lax|strict|none
//	        secure         on|off
//	        max_age        <duration>
//	        client_cookies on|off
//	    }
//	    trust_client_cookies
//	    skip_bots            on|off
//	    persist_new_clients  on_return|immediately
//	    events               all|navigations
//	    cache_control        on|off
//	    cache_size           <n>
//	    consent cookie <name> [<value>]
//	    honor_gpc
//	    fingerprint
//	    forward_auth
//	    geoip <file.mmdb>
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := map[string]bool{}
	var store storeLine
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		name := d.Val()
		if seen[name] {
			return d.Errf("duplicate subdirective '%s'", name)
		}
		seen[name] = true
		if name == "store" {
			store.file, store.line = d.File(), d.Line()
		}
		if err := h.unmarshalSubdirective(d, name, &store); err != nil {
			return err
		}
		if err := h.Validate(); err != nil {
			return d.WrapErr(err)
		}
	}
	if store.backend == nil {
		return nil
	}
	if err := h.checkSecretFor(store.backend); err != nil {
		return fmt.Errorf("%w, at %s:%d", err, store.file, store.line)
	}
	return nil
}

// storeLine is the store module a Caddyfile configures, and where.
type storeLine struct {
	backend StoreBackend
	file    string
	line    int
}

func (h *Handler) unmarshalSubdirective(d *caddyfile.Dispenser, name string, store *storeLine) error {
	switch name {
	case "session_timeout":
		return parseDuration(d, &h.SessionTimeout)
	case "session_max_duration":
		return parseDuration(d, &h.SessionMaxDuration)
	case "store_timeout":
		return parseDuration(d, &h.StoreTimeout)
	case "retention":
		return parseDuration(d, &h.Retention)
	case "bootstrap_window":
		return parseDurationOrOff(d, &h.BootstrapWindow)
	case "secret":
		return parseSecrets(d, h)
	case "header_prefix":
		return parseString(d, &h.HeaderPrefix)
	case "store":
		return parseStore(d, h, store)
	case "cookie":
		h.Cookie = new(CookieConfig)
		return h.Cookie.unmarshalCaddyfile(d)
	case "cookie_refresh":
		return parseDurationOrOff(d, &h.CookieRefresh)
	case "trust_client_cookies":
		h.TrustClientCookies = true
		return noArgs(d)
	case "skip_bots":
		return parseSwitch(d, &h.SkipBots)
	case "cache_control":
		return parseSwitch(d, &h.CacheControl)
	case "events":
		return parseString(d, &h.Events)
	case "persist_new_clients":
		return parseString(d, &h.PersistNewClients)
	case "cache_size":
		return parseInt(d, &h.CacheSize)
	case "consent":
		return parseConsent(d, h)
	case "honor_gpc":
		h.HonorGPC = true
		return noArgs(d)
	case "fingerprint":
		h.Fingerprint = true
		return noArgs(d)
	case "forward_auth":
		h.ForwardAuth = true
		return noArgs(d)
	case "geoip":
		return parseGeoIP(d, h)
	default:
		return d.Errf("unrecognized subdirective '%s'", name)
	}
}

// parseDurationOrOff reads "<duration>" or "off" (0) into *into.
func parseDurationOrOff(d *caddyfile.Dispenser, into **caddy.Duration) error {
	var w caddy.Duration
	if d.CountRemainingArgs() == 1 && d.NextArg() && d.Val() == "off" {
		*into = &w
		return nil
	}
	d.Prev()
	if err := parseDuration(d, &w); err != nil {
		return err
	}
	*into = &w
	return nil
}

// parseGeoIP reads the database path and checks the file now, so that a
// missing or corrupt one is reported at its line. A path with placeholders
// is checked when they are resolved, at provision time.
func parseGeoIP(d *caddyfile.Dispenser, h *Handler) error {
	if err := parseString(d, &h.GeoIP); err != nil {
		return err
	}
	if strings.Contains(h.GeoIP, "{") {
		return nil
	}
	if err := geoip.Check(h.GeoIP); err != nil {
		return d.Errf("geoip: %v", err)
	}
	return nil
}

func parseConsent(d *caddyfile.Dispenser, h *Handler) error {
	args := d.RemainingArgs()
	if len(args) < 2 || len(args) > 3 || args[0] != "cookie" {
		return d.Errf("want: consent cookie <name> [<value>]")
	}
	h.Consent = &ConsentConfig{Cookie: args[1]}
	if len(args) == 3 {
		h.Consent.Value = args[2]
	}
	return nil
}

func parseSecrets(d *caddyfile.Dispenser, h *Handler) error {
	if h.Secrets = d.RemainingArgs(); len(h.Secrets) == 0 {
		return d.ArgErr()
	}
	return nil
}

// parseStore hands the store's block to its module, as encode does for
// encoders, so that a store module from another plugin is configured from a
// Caddyfile as the built-in ones are.
func parseStore(d *caddyfile.Dispenser, h *Handler, store *storeLine) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	name := d.Val()
	if _, err := caddy.GetModule(storeNamespace + "." + name); err != nil {
		return d.Errf("unknown store '%s'", name)
	}
	mod, err := caddyfile.UnmarshalModule(d, storeNamespace+"."+name)
	if err != nil {
		return err
	}
	backend, ok := mod.(StoreBackend)
	if !ok {
		return d.Errf("module %s is not a session store", name)
	}
	store.backend = backend
	h.StoreRaw = caddyconfig.JSONModuleObject(backend, "backend", name, nil)
	return nil
}

// parseOptions reads a block of options, checking v after each so that an
// error names the line that caused it.
func parseOptions(d *caddyfile.Dispenser, v caddy.Validator, parseOption func(*caddyfile.Dispenser) error) error {
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if err := parseOption(d); err != nil {
			return err
		}
		if err := v.Validate(); err != nil {
			return d.WrapErr(err)
		}
	}
	return nil
}

// UnmarshalCaddyfile reads the store sqlite block:
//
//	store sqlite {
//	    path           <file>
//	    flush_interval <duration>
//	    durability     batched|sync
//	}
func (s *SQLiteStore) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return unmarshalStoreBlock(d, s, s.parseOption)
}

// unmarshalStoreBlock reads "<name> { options }" of a store module.
func unmarshalStoreBlock(d *caddyfile.Dispenser, v caddy.Validator, parseOption func(*caddyfile.Dispenser) error) error {
	d.Next() // the store's name
	if d.NextArg() {
		return d.ArgErr()
	}
	return parseOptions(d, v, parseOption)
}

// parseOption reads one line of the store sqlite block.
func (s *SQLiteStore) parseOption(d *caddyfile.Dispenser) error {
	switch d.Val() {
	case "path":
		return parseString(d, &s.Path)
	case "flush_interval":
		return parseDuration(d, &s.FlushInterval)
	case "durability":
		return parseString(d, &s.Durability)
	}
	return d.Errf("unrecognized store sqlite option '%s'", d.Val())
}

func (c *CookieConfig) unmarshalCaddyfile(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch d.Val() {
		case "names":
			if c.Names = d.RemainingArgs(); len(c.Names) == 0 {
				err = d.ArgErr()
			}
		case "app_prefix":
			err = parseString(d, &c.AppPrefix)
		case "server_prefix":
			err = parseString(d, &c.ServerPrefix)
		case "client_prefix":
			err = parseString(d, &c.ClientPrefix)
		case "domain":
			err = parseString(d, &c.Domain)
		case "path":
			err = parseString(d, &c.Path)
		case "same_site":
			err = parseString(d, &c.SameSite)
		case "secure":
			err = parseSwitch(d, &c.Secure)
		case "max_age":
			err = parseDuration(d, &c.MaxAge)
		case "client_cookies":
			err = parseSwitch(d, &c.ClientCookies)
		default:
			err = d.Errf("unrecognized cookie option '%s'", d.Val())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func oneArg(d *caddyfile.Dispenser) (string, error) {
	if d.CountRemainingArgs() != 1 {
		return "", d.ArgErr()
	}
	d.NextArg()
	return d.Val(), nil
}

func noArgs(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	return nil
}

func parseString(d *caddyfile.Dispenser, dst *string) error {
	v, err := oneArg(d)
	*dst = v
	return err
}

func parseDuration(d *caddyfile.Dispenser, dst *caddy.Duration) error {
	v, err := oneArg(d)
	if err != nil {
		return err
	}
	dur, err := caddy.ParseDuration(v)
	if err != nil {
		return d.Errf("bad duration '%s' for %s: %v", v, d.Val(), err)
	}
	*dst = caddy.Duration(dur)
	return nil
}

func parseSwitch(d *caddyfile.Dispenser, dst **bool) error {
	v, err := oneArg(d)
	if err != nil {
		return err
	}
	var on bool
	switch v {
	case "on":
		on = true
	case "off":
	default:
		return d.Errf("want on or off, got '%s'", v)
	}
	*dst = &on
	return nil
}

func parseInt(d *caddyfile.Dispenser, dst *int) error {
	v, err := oneArg(d)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return d.Errf("want a number, got '%s'", v)
	}
	*dst = n
	return nil
}

// Interface guards
var _ caddyfile.Unmarshaler = (*Handler)(nil)

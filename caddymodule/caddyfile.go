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
//	    cache_control        on|off
//	    cache_size           <n>
//	    consent cookie <name> [<value>]
//	    honor_gpc
//	    fingerprint
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := map[string]bool{}
	var redisLine int
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		name := d.Val()
		if seen[name] {
			return d.Errf("duplicate subdirective '%s'", name)
		}
		seen[name] = true
		if args := peekArgs(d); name == "store" && len(args) > 0 && args[0] == "redis" {
			redisLine = d.Line()
		}
		if err := h.unmarshalSubdirective(d, name); err != nil {
			return err
		}
	}
	if redisLine > 0 && len(h.Secrets) == 0 {
		return fmt.Errorf("store redis needs secret: every instance must sign cookies with the same key, at %s:%d", d.File(), redisLine)
	}
	return nil
}

func (h *Handler) unmarshalSubdirective(d *caddyfile.Dispenser, name string) error {
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
		return parseBootstrapWindow(d, h)
	case "secret":
		return parseSecrets(d, h)
	case "header_prefix":
		return parseString(d, &h.HeaderPrefix)
	case "store":
		return parseStore(d, h)
	case "cookie":
		h.Cookie = new(CookieConfig)
		return h.Cookie.unmarshalCaddyfile(d)
	case "trust_client_cookies":
		h.TrustClientCookies = true
		return noArgs(d)
	case "skip_bots":
		return parseSwitch(d, &h.SkipBots)
	case "cache_control":
		return parseSwitch(d, &h.CacheControl)
	case "persist_new_clients":
		return parseChoice(d, &h.PersistNewClients, persistOnReturn, persistImmediately)
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
	default:
		return d.Errf("unrecognized subdirective '%s'", name)
	}
}

func parseBootstrapWindow(d *caddyfile.Dispenser, h *Handler) error {
	var w caddy.Duration
	if d.CountRemainingArgs() == 1 && d.NextArg() && d.Val() == "off" {
		h.BootstrapWindow = &w
		return nil
	}
	d.Prev()
	if err := parseDuration(d, &w); err != nil {
		return err
	}
	h.BootstrapWindow = &w
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
	h.Secrets = d.RemainingArgs()
	if len(h.Secrets) == 0 {
		return d.ArgErr()
	}
	for i, s := range h.Secrets {
		// Placeholders are resolved and checked at provision time.
		if !strings.Contains(s, "{") && len(s) < minSecretLen {
			return d.Errf("secret #%d is %d bytes; need at least %d", i+1, len(s), minSecretLen)
		}
	}
	return nil
}

func parseStore(d *caddyfile.Dispenser, h *Handler) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	kind := d.Val()
	if d.NextArg() {
		return d.ArgErr()
	}
	var store interface {
		unmarshalCaddyfile(*caddyfile.Dispenser) error
	}
	switch kind {
	case "sqlite":
		store = new(SQLiteStore)
	case "redis":
		store = new(RedisStore)
	default:
		return d.Errf("unknown store '%s'", kind)
	}
	if err := store.unmarshalCaddyfile(d); err != nil {
		return err
	}
	h.StoreRaw = caddyconfig.JSONModuleObject(store, "backend", kind, nil)
	return nil
}

func (s *SQLiteStore) unmarshalCaddyfile(d *caddyfile.Dispenser) error {
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch d.Val() {
		case "path":
			err = parseString(d, &s.Path)
		case "flush_interval":
			err = parseDuration(d, &s.FlushInterval)
		case "durability":
			err = parseChoice(d, &s.Durability, durabilityBatched, durabilitySync)
		default:
			err = d.Errf("unrecognized store sqlite option '%s'", d.Val())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *CookieConfig) unmarshalCaddyfile(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch d.Val() {
		case "names":
			c.Names = d.RemainingArgs()
			if len(c.Names) != 3 {
				err = d.Errf("names takes three names (client, session, event), got %d", len(c.Names))
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
			err = parseChoice(d, &c.SameSite, "lax", "strict", "none")
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
	if err := c.withDefaults().validate(); err != nil {
		return d.Errf("cookie: %v", err)
	}
	return nil
}

// peekArgs returns the arguments on the current line without consuming them.
func peekArgs(d *caddyfile.Dispenser) []string {
	args := d.RemainingArgs()
	for range args {
		d.Prev()
	}
	return args
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
	if dur < 0 {
		return d.Errf("%s must not be negative", v)
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

func parseChoice(d *caddyfile.Dispenser, dst *string, choices ...string) error {
	v, err := oneArg(d)
	if err != nil {
		return err
	}
	for _, c := range choices {
		if v == c {
			*dst = v
			return nil
		}
	}
	return d.Errf("want one of %s, got '%s'", strings.Join(choices, ", "), v)
}

func parseInt(d *caddyfile.Dispenser, dst *int) error {
	v, err := oneArg(d)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return d.Errf("want a non-negative number, got '%s'", v)
	}
	*dst = n
	return nil
}

// Interface guards
var _ caddyfile.Unmarshaler = (*Handler)(nil)

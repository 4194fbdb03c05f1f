package caddymodule

import (
	"fmt"
	"net/http"
	"net/netip"

	"github.com/caddyserver/caddy/v2"

	"github.com/c0f4626f/caddy-session/geoip"
)

// geoDBs holds the open geo databases by absolute path: configurations
// that name the same file share one copy in memory and one watcher, and a
// reload keeps it open.
var geoDBs = caddy.NewUsagePool()

// pooledGeo is a database in geoDBs. Destruct stops its watcher; requests
// still in flight go on looking up in the database they hold.
type pooledGeo struct{ *geoip.DB }

func (p pooledGeo) Destruct() error { return p.Close() }

// openGeo joins the pooled database of h.GeoIP, when set.
func (h *Handler) openGeo() error {
	if h.GeoIP == "" {
		return nil
	}
	path := caddy.NewReplacer().ReplaceAll(h.GeoIP, "")
	key, err := caddy.FastAbs(path)
	if err != nil {
		return fmt.Errorf("geoip: %w", err)
	}
	db, _, err := geoDBs.LoadOrNew(key, func() (caddy.Destructor, error) {
		db, err := geoip.Open(path, geoip.Options{Logger: h.logger})
		if err != nil {
			return nil, err
		}
		return pooledGeo{db}, nil
	})
	if err != nil {
		return fmt.Errorf("geoip: %w", err)
	}
	h.geo, h.geoKey = db.(pooledGeo).DB, key
	return nil
}

// releaseGeo drops this configuration's hold on the pooled database.
func (h *Handler) releaseGeo() error {
	if h.geoKey == "" {
		return nil
	}
	_, err := geoDBs.Delete(h.geoKey)
	h.geoKey = ""
	return err
}

// locate is where the request's client is, by the IP Caddy determined
// (behind trusted_proxies, the forwarded one). Only with geoip on.
func (h *Handler) locate(r *http.Request) geoip.Location {
	return h.geo.Lookup(clientAddr(r))
}

// clientAddr is clientIP as an address; the zero address when unparsable.
func clientAddr(r *http.Request) netip.Addr {
	ip := clientIP(r)
	if ap, err := netip.ParseAddrPort(ip); err == nil {
		return ap.Addr()
	}
	addr, _ := netip.ParseAddr(ip)
	return addr
}

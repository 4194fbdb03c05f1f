// Package geoip tells where an IP address is from a MaxMind-format database
// (GeoLite2 or GeoIP2 Country or City, DB-IP Lite Country or City) and
// reloads the database when its file is replaced, as geoipupdate does.
package geoip

import (
	"net/netip"
	"sync"

	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/c0f4626f/caddy-session/internal/clienttext"
)

// Location is what the database says about an address. A field is empty
// when the database does not have it (a Country database has no region or
// city). Every text is free of control characters and at most MaxText
// bytes, fit for a header value.
type Location struct {
	// Country is the ISO 3166-1 alpha-2 code, e.g. "US".
	Country string
	// Continent is the two-letter continent code, e.g. "NA".
	Continent string
	// Region is the ISO 3166-2 code of the first (largest) subdivision,
	// country included, e.g. "US-CA": unambiguous on its own.
	Region string
	// City is the city's English name, e.g. "San Francisco".
	City string
}

// MaxText bounds each text of a Location.
const MaxText = 128

// record is the part of a database record that a lookup decodes: only the
// fields a Location uses, names in English only.
type record struct {
	Continent struct {
		Code string `maxminddb:"code"`
	} `maxminddb:"continent"`
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	Subdivisions []struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"subdivisions"`
	City struct {
		Names struct {
			English string `maxminddb:"en"`
		} `maxminddb:"names"`
	} `maxminddb:"city"`
}

// records are reused by lookups: decoding needs a pointer, which would
// otherwise put a record on the heap at every lookup.
var records = sync.Pool{New: func() any { return new(record) }}

// reset empties the record, keeping the room of its subdivisions.
func (rec *record) reset() {
	*rec = record{Subdivisions: rec.Subdivisions[:0]}
}

// lookup finds ip in r; the zero Location when r has nothing for it or the
// record cannot be read.
func lookup(r *maxminddb.Reader, ip netip.Addr) Location {
	rec := records.Get().(*record)
	defer records.Put(rec)
	rec.reset()
	if err := r.Lookup(ip.Unmap().WithZone("")).Decode(rec); err != nil {
		return Location{}
	}
	loc := Location{
		Country:   clean(rec.Country.ISOCode),
		Continent: clean(rec.Continent.Code),
		City:      clean(rec.City.Names.English),
	}
	if len(rec.Subdivisions) > 0 && rec.Subdivisions[0].ISOCode != "" && loc.Country != "" {
		loc.Region = clean(loc.Country + "-" + rec.Subdivisions[0].ISOCode)
	}
	return loc
}

// clean makes a database text fit for a header value by the rule every
// text from outside passes (clienttext.Clean): the file comes from
// elsewhere, and its texts reach headers, logs and exports.
func clean(s string) string { return clienttext.Clean(s, MaxText) }

// Package testgeo writes small MaxMind-format databases for tests, in the
// field layout of GeoLite2/GeoIP2 City and Country (and DB-IP Lite, which
// uses the same layout).
package testgeo

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Place is what a database says about a network.
type Place struct {
	Country     string // ISO 3166-1 code, e.g. "US"
	Continent   string // continent code, e.g. "NA"
	Subdivision string // ISO 3166-2 code within the country, e.g. "CA"
	City        string // English name
}

// Layout is the record layout of a database.
type Layout string

// The layouts of the MaxMind databases (DB-IP Lite uses the same).
const (
	City    Layout = "GeoLite2-City"    // continent, country, subdivisions, city
	Country Layout = "GeoLite2-Country" // continent and country only
)

// Write writes a database of layout that maps each network (CIDR, IPv4 or
// IPv6, loopback allowed) to its place. Like geoipupdate, it writes a new
// file and renames it over path, so a reader of path sees the whole old
// file or the whole new one.
func Write(t testing.TB, path string, layout Layout, places map[string]Place) {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType: string(layout), IncludeReservedNetworks: true, Languages: []string{"de", "en"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, p := range places {
		_, network, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(network, record(layout, p)); err != nil {
			t.Fatalf("inserting %s: %v", cidr, err)
		}
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".testgeo-*")
	if err != nil {
		t.Fatal(err)
	}
	_, err = tree.WriteTo(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		t.Fatal(err)
	}
}

// Replace renames a file with data over path, as geoipupdate replaces a
// database.
func Replace(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func record(layout Layout, p Place) mmdbtype.Map {
	names := func(en string) mmdbtype.Map { return mmdbtype.Map{"en": mmdbtype.String(en)} }
	m := mmdbtype.Map{
		"continent": mmdbtype.Map{"code": mmdbtype.String(p.Continent), "geoname_id": mmdbtype.Uint32(1), "names": names("Somewhere")},
		"country":   mmdbtype.Map{"iso_code": mmdbtype.String(p.Country), "geoname_id": mmdbtype.Uint32(2), "names": names("Some country")},
	}
	if layout != City {
		return m
	}
	if p.Subdivision != "" {
		m["subdivisions"] = mmdbtype.Slice{
			mmdbtype.Map{"iso_code": mmdbtype.String(p.Subdivision), "names": names("Some region")},
			mmdbtype.Map{"iso_code": mmdbtype.String("ZZ"), "names": names("A smaller region")},
		}
	}
	if p.City != "" {
		m["city"] = mmdbtype.Map{"geoname_id": mmdbtype.Uint32(3), "names": mmdbtype.Map{
			"de": mmdbtype.String("Anderswo"), "en": mmdbtype.String(p.City),
		}}
	}
	m["location"] = mmdbtype.Map{"latitude": mmdbtype.Float64(1.5), "longitude": mmdbtype.Float64(2.5)}
	return m
}

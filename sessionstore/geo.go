package sessionstore

// Geo is where a session's first event came from, by its client IP (the
// IP itself is never kept): fixed when the session starts, like its
// Attribution. Its fields are those of geoip.Location, so that one
// converts to the other.
type Geo struct {
	// Country is the ISO 3166-1 alpha-2 code, e.g. "US".
	Country string
	// Continent is the two-letter continent code, e.g. "NA".
	Continent string
	// Region is the ISO 3166-2 code of the first subdivision, e.g. "US-CA".
	Region string
	// City is the city's English name.
	City string
}

// MaxGeoText bounds each text of a Geo an object keeps.
const MaxGeoText = 128

// kept is g with each text through clienttext.Clean, like a client's: the
// database is a file from elsewhere.
func (g Geo) kept() Geo {
	for _, s := range [...]*string{&g.Country, &g.Continent, &g.Region, &g.City} {
		*s = keptText(*s, MaxGeoText)
	}
	return g
}

package geoip

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"
	"go.uber.org/zap"
)

// DB is an open database that follows its file: when the file at its path
// is replaced, the new one is loaded and takes over between two lookups.
// Lookups are safe from any number of goroutines.
//
// The file is read into memory rather than mapped: a replaced database is
// then simply dropped and collected once no lookup holds it, so no lookup
// can ever read memory that was unmapped under it.
type DB struct {
	path    string
	log     *zap.Logger
	current atomic.Pointer[version]
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once

	// Of the watcher goroutine only: the file last tried, and whether the
	// path was missing at the last check (to warn once, not every tick).
	tried   os.FileInfo
	missing bool
}

// version is one loaded database and the file it came from.
type version struct {
	reader *maxminddb.Reader
	file   os.FileInfo
}

// Options tune a DB.
type Options struct {
	// Logger gets a warning when a replaced file cannot be loaded, and an
	// info line when one is. Default: none.
	Logger *zap.Logger
	// CheckInterval is how often the file is checked for a replacement.
	// Default: DefaultCheckInterval.
	CheckInterval time.Duration
}

// DefaultCheckInterval is how often a DB checks its file by default.
const DefaultCheckInterval = 5 * time.Second

// Open loads the database at path and watches the file for a replacement
// until Close. A missing, unreadable or corrupt file, or a database that is
// not a country or city one, is an error.
func Open(path string, o Options) (*DB, error) {
	v, err := load(path)
	if err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.CheckInterval <= 0 {
		o.CheckInterval = DefaultCheckInterval
	}
	db := &DB{path: path, log: o.Logger, stop: make(chan struct{}), done: make(chan struct{}), tried: v.file}
	db.current.Store(v)
	go db.watch(o.CheckInterval)
	return db, nil
}

// Check reports whether path holds a database that Open would accept.
func Check(path string) error {
	_, err := load(path)
	return err
}

// Lookup tells where ip is; the zero Location when the database has no
// entry for it.
func (db *DB) Lookup(ip netip.Addr) Location {
	return lookup(db.current.Load().reader, ip)
}

// Close stops watching the file. Lookups still answer from the database
// last loaded, so a request in flight while its configuration is unloaded
// is served.
func (db *DB) Close() error {
	db.once.Do(func() { close(db.stop) })
	<-db.done
	return nil
}

func (db *DB) watch(interval time.Duration) {
	defer close(db.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-db.stop:
			return
		case <-tick.C:
			db.reloadIfReplaced()
		}
	}
}

// reloadIfReplaced loads the file at the path when it is not the one last
// tried. A file that fails to load is tried again only once it changes.
func (db *DB) reloadIfReplaced() {
	fi, err := os.Stat(db.path)
	if err != nil {
		if !db.missing {
			db.log.Warn("geoip database file unavailable; keeping the loaded one", zap.String("path", db.path), zap.Error(err))
		}
		db.missing = true
		return
	}
	db.missing = false
	if sameFile(fi, db.tried) {
		return
	}
	db.tried = fi
	v, err := load(db.path)
	if err != nil {
		db.log.Warn("geoip database file replaced by one that cannot be used; keeping the loaded one",
			zap.String("path", db.path), zap.Error(err))
		return
	}
	db.tried = v.file
	db.current.Store(v)
	db.log.Info("geoip database reloaded", zap.String("path", db.path),
		zap.String("type", v.reader.Metadata.DatabaseType), zap.Uint("build_epoch", v.reader.Metadata.BuildEpoch))
}

// sameFile reports whether a and b describe the same unchanged file: a
// file renamed over the path is another file, one rewritten in place has
// another size or modification time.
func sameFile(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// maxFileSize bounds the file read into memory: the largest country and
// city databases (GeoIP2 Enterprise, DB-IP City) are a few hundred MB.
const maxFileSize = 2 << 30

// load reads and checks the database at path; the file info is of the file
// read, taken from the open file so that both describe the same file.
func load(path string) (*version, error) {
	// Non-blocking, so that a FIFO put at the path cannot hang the watcher
	// (and with it the Cleanup a config reload waits for).
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	switch {
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%s is not a regular file", path)
	case fi.Size() > maxFileSize:
		return nil, fmt.Errorf("%s is %d bytes; a country or city database is at most %d", path, fi.Size(), int64(maxFileSize))
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	r, err := maxminddb.OpenBytes(data)
	if err == nil {
		err = probe(r)
	}
	if err != nil {
		return nil, fmt.Errorf("%s is not a valid MaxMind DB file: %w", path, err)
	}
	if !hasLocations(r.Metadata.DatabaseType) {
		return nil, fmt.Errorf("%s is a %s database; want a country or city one", path, r.Metadata.DatabaseType)
	}
	return &version{reader: r, file: fi}, nil
}

// hasLocations reports whether a database type has the country/city layout
// (GeoLite2-City, GeoIP2-Country, DBIP-City-Lite, GeoIP2-Enterprise...).
func hasLocations(databaseType string) bool {
	for _, kind := range [...]string{"City", "Country", "Enterprise"} {
		if strings.Contains(databaseType, kind) {
			return true
		}
	}
	return false
}

// probeAddresses are looked up when a database loads, one of each family.
var probeAddresses = [...]netip.Addr{netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("2001:4860:4860::8888")}

// probe looks up a few addresses, so that a file whose search tree or data
// is damaged where they lead is refused. A full check (Reader.Verify) would
// take seconds and hundreds of megabytes on a City database, and is
// stricter than the readers of the format.
func probe(r *maxminddb.Reader) error {
	for _, ip := range probeAddresses {
		if ip.Is6() && r.Metadata.IPVersion != 6 {
			continue
		}
		var rec record
		if err := r.Lookup(ip).Decode(&rec); err != nil {
			return err
		}
	}
	return nil
}

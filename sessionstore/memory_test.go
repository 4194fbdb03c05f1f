package sessionstore_test

import (
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/storetest"

	. "github.com/c0f4626f/caddy-session/sessionstore"
)

// The bounds README states for what one client costs in memory, whatever
// the request carried. The attribution adds to each: five utm values of up
// to MaxUTMValue bytes and a click-ID parameter name, 660 bytes in the
// compact form (with their lengths), 736 in the object (with six string
// headers). The geo adds four texts of up to MaxGeoText bytes: 516 in the
// compact form, 576 in the object.
const (
	maxBytesPerKeptObject   = 600 + 700 + 700 // pending or cached: compact form, index and recency entry
	maxBytesPerQueuedObject = 900 + 800 + 700 // write queue: the object itself, until its commit
)

// hostileGeo is a geo text far longer than a database would give.
var hostileGeo = strings.Repeat("g", 8<<10)

// hostileUTM is a query with 8 KB in each utm value.
var hostileUTM = func() string {
	q := ""
	for _, p := range []string{"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"} {
		q += p + "=" + strings.Repeat("u", 8<<10) + "&"
	}
	return q
}()

// Every in-memory entry has a bounded size whatever the request carries:
// clients whose requests had 8 KB paths and utm values and long referrers
// cost no more
// than the stated bound, and none keeps its request's memory alive.
func TestInMemoryEntriesAreBoundedWhateverTheRequestCarries(t *testing.T) {
	const clients = 20_000
	hostile := func(i int) Visit {
		now := time.Now()
		tail := strconv.Itoa(i)
		return Visit{
			EventID: NewID(now),
			Now:     now,
			Path:    "/" + strings.Repeat("p", 8<<10) + tail, // a fresh 8 KB string per request
			Landing: Landing{
				Referer: "https://" + strings.Repeat("r", 2<<10) + tail + "/",
				Query:   hostileUTM + tail + "&li_fat_id=" + tail,
				Host:    "site.example",
			},
			Geo: Geo{Country: hostileGeo + tail, Continent: hostileGeo + tail, Region: hostileGeo + tail, City: hostileGeo + tail},
		}
	}
	for _, c := range []struct {
		name    string
		persist bool
		bound   int
	}{{"pending", false, maxBytesPerKeptObject}, {"queued and cached", true, maxBytesPerKeptObject + maxBytesPerQueuedObject}} {
		t.Run(c.name, func(t *testing.T) {
			s, _ := newSQLiteStore(t, Config{FlushInterval: time.Hour})
			o := storetest.Opts
			o.PersistImmediately = c.persist
			before := heapInUse()
			for i := range clients {
				s.Visit(t.Context(), hostile(i), o)
			}
			perClient := (heapInUse() - before) / clients
			t.Logf("%s: %d bytes per client", c.name, perClient)
			if perClient > int64(c.bound) {
				t.Fatalf("%s: %d bytes per client, bound %d", c.name, perClient, c.bound)
			}
			if st := s.Stats(); st.PendingClients+st.QueueDepth < clients {
				t.Fatalf("the clients are not all in memory: %+v", st)
			}
		})
	}
}

func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

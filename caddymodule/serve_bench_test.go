package caddymodule

import (
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/c0f4626f/caddy-session/internal/testgeo"
)

// benchHandler is a provisioned handler on a SQLite file in a temp dir,
// with the settings of configure.
func benchHandler(b *testing.B, configure ...func(*Handler)) *Handler {
	b.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	b.Cleanup(cancel)
	h := &Handler{
		Secrets:  []string{"bench-signing-key-0123456789abcdef0123456789"},
		StoreRaw: json.RawMessage(`{"backend":"sqlite","path":"` + filepath.Join(b.TempDir(), "s.db") + `"}`),
	}
	for _, c := range configure {
		c(h)
	}
	if err := h.Provision(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.Cleanup() })
	return h
}

// benchRequest is a request as Caddy hands it to a handler, built directly:
// httptest.NewRequest parses text through a 4 KB reader, whose garbage
// would swamp what is measured.
func benchRequest(cookie string) *http.Request {
	h := http.Header{
		"User-Agent":      {"Mozilla/5.0 (X11; Linux x86_64) bench"},
		"Accept-Language": {"en"},
	}
	if cookie != "" {
		h["Cookie"] = []string{cookie}
	}
	ctx := context.WithValue(context.Background(), caddy.ReplacerCtxKey, caddy.NewReplacer())
	ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{})
	ctx = context.WithValue(ctx, caddyhttp.ExtraLogFieldsCtxKey, new(caddyhttp.ExtraLogFields))
	r := &http.Request{
		Method: http.MethodGet, URL: benchURL, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Host: benchURL.Host, RemoteAddr: "192.0.2.1:1234", RequestURI: benchURL.Path,
	}
	return r.WithContext(ctx)
}

var benchURL = &url.URL{Scheme: "http", Host: "localhost", Path: "/page"}

var nop = caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })

// cookiesOf turns a response's Set-Cookie headers into a Cookie header.
func cookiesOf(w *httptest.ResponseRecorder) string {
	c := ""
	for _, ck := range w.Result().Cookies() {
		if c != "" {
			c += "; "
		}
		c += ck.Name + "=" + ck.Value
	}
	return c
}

// BenchmarkServeHTTPReturning is the request path of a returning visitor:
// cookie parse and verify, lifecycle in the cached object, six cookies
// signed and written, headers and placeholders, the write queued.
func BenchmarkServeHTTPReturning(b *testing.B) {
	h := benchHandler(b)
	cookies := returningClients(h)
	runServeBench(b, h, func(i int) *http.Request { return benchRequest(cookies[i%len(cookies)]) })
}

// BenchmarkServeHTTPReturningFromALink is a returning visitor's request
// that carries what attributes a session (a query with utm values, a
// Referer): within a session it must cost no more than a bare request.
func BenchmarkServeHTTPReturningFromALink(b *testing.B) {
	h := benchHandler(b)
	cookies := returningClients(h)
	runServeBench(b, h, func(i int) *http.Request {
		r := benchRequest(cookies[i%len(cookies)])
		r.URL = benchLinkURL
		r.Header["Referer"] = []string{"https://news.example/today"}
		return r
	})
}

// BenchmarkServeHTTPReturningGeo is a returning visitor's request with
// geoip on, its address in the database: the lookup's cost.
func BenchmarkServeHTTPReturningGeo(b *testing.B) {
	path := filepath.Join(b.TempDir(), "geo.mmdb")
	testgeo.Write(b, path, testgeo.City, map[string]testgeo.Place{
		"192.0.2.0/24": {Country: "US", Continent: "NA", Subdivision: "CA", City: "San Francisco"},
	})
	h := benchHandler(b, func(h *Handler) { h.GeoIP = path })
	cookies := returningClients(h)
	runServeBench(b, h, func(i int) *http.Request { return benchRequest(cookies[i%len(cookies)]) })
}

var benchLinkURL = &url.URL{Scheme: "http", Host: "localhost", Path: "/page", RawQuery: "utm_source=news&utm_medium=email&utm_campaign=spring"}

// BenchmarkServeHTTPRecognized is a returning visitor's request that is
// not an event (events navigations, an image): cookie parse and verify,
// the tombstone check, the IDs handed on, no store call and no cookie.
func BenchmarkServeHTTPRecognized(b *testing.B) {
	h := benchHandler(b)
	h.Events = eventsNavigations
	cookies := returningClients(h)
	runServeBench(b, h, func(i int) *http.Request { return benchRequest(cookies[i%len(cookies)]) })
}

// returningClients makes 2000 clients and returns their Cookie headers.
// Bench requests carry no Fetch Metadata and no Accept, so these are made
// as page loads: with events navigations the others are not events.
func returningClients(h *Handler) []string {
	cookies := make([]string, 2000)
	for i := range cookies {
		w := httptest.NewRecorder()
		r := benchRequest("")
		r.Header.Set("User-Agent", "client "+string(rune('a'+i%26))+string(rune(i)))
		r.Header.Set("Sec-Fetch-Mode", "navigate")
		h.ServeHTTP(w, r, nop)
		cookies[i] = cookiesOf(w)
	}
	return cookies
}

// liveRate is the pace of the LiveRate benchmarks: about the returning
// visitors per second that one core of Caddy serves in `./xcaddy.sh bench
// one-core`.
var liveRate = flag.Int("live-rate", 5000, "requests/s of the BenchmarkServeHTTP*LiveRate benchmarks")

// BenchmarkServeHTTPReturningLiveRate is BenchmarkServeHTTPReturning paced
// at the rate a live Caddy serves those visitors on one core: a group
// commit to the SQLite file then carries about as many objects per request
// as it does live (at full speed each window's commit is shared by many
// more requests of the same 2,000 clients), and the garbage collector runs
// as often per request. Run it with -cpu 1 (GOMAXPROCS=1, as live) and a
// -benchtime of several seconds.
func BenchmarkServeHTTPReturningLiveRate(b *testing.B) {
	h := benchHandler(b)
	cookies := returningClients(h)
	runPacedServeBench(b, h, *liveRate, func(i int) *http.Request { return benchRequest(cookies[i%len(cookies)]) })
}

// runServeBench runs the handler b.N times and reports the process CPU time
// per request: the writer's group commits on the other core included.
func runServeBench(b *testing.B, h caddyhttp.MiddlewareHandler, request func(int) *http.Request) {
	runPacedServeBench(b, h, 0, request)
}

// runPacedServeBench is runServeBench at rate requests per second (0: as
// fast as they go), sent in bursts of a millisecond's worth so that the
// sleeps cost little.
func runPacedServeBench(b *testing.B, h caddyhttp.MiddlewareHandler, rate int, request func(int) *http.Request) {
	burst := max(rate/1000, 1)
	b.ReportAllocs()
	b.ResetTimer()
	start, began := cpuTime(), time.Now()
	for i := range b.N {
		if rate > 0 && i%burst == 0 {
			time.Sleep(time.Until(began.Add(time.Duration(i) * time.Second / time.Duration(rate))))
		}
		if err := h.ServeHTTP(httptest.NewRecorder(), request(i), nop); err != nil {
			b.Fatal(err)
		}
	}
	if s, ok := h.(*Handler); ok {
		if err := s.store.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-µs/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkServeHTTPNew is the request path of a new visitor: no cookies,
// a User-Agent of its own (so it joins no bootstrap window), the client
// kept in memory until it returns.
func BenchmarkServeHTTPNew(b *testing.B) {
	runServeBench(b, benchHandler(b), newVisitor)
}

func newVisitor(i int) *http.Request {
	r := benchRequest("")
	r.Header["User-Agent"] = []string{"Mozilla/5.0 (X11; Linux x86_64) visitor " + strconv.Itoa(i)}
	return r
}

// BenchmarkServeHTTPHarness is the cost of the benchmark's own requests and
// recorder, to subtract from the two above: the same requests, handed
// straight to the next handler.
func BenchmarkServeHTTPHarness(b *testing.B) {
	b.Run("returning", func(b *testing.B) {
		runServeBench(b, passThrough{}, func(int) *http.Request { return benchRequest(harnessCookie) })
	})
	b.Run("new", func(b *testing.B) { runServeBench(b, passThrough{}, newVisitor) })
}

// harnessCookie is a returning visitor's Cookie header: six cookies of the
// real sizes.
const harnessCookie = "_ss_cID=01a21c0d-f737-72b1-a48b-6f0c6908e947.bK6b_LO7o5a5y9rvnRK5ZTcq0rGNKABkDTFYmRYUEDg; " +
	"_cs_cID=01a21c0d-f737-72b1-a48b-6f0c6908e947; _ss_sID=01a21c0d-f737-72b1-a48b-6f0c6908e947.bK6b_LO7o5a5y9rvnRK5ZTcq0rGNKABkDTFYmRYUEDg; " +
	"_cs_sID=01a21c0d-f737-72b1-a48b-6f0c6908e947; _ss_eID=01a21c0d-f737-72b1-a48b-6f0c6908e947.bK6b_LO7o5a5y9rvnRK5ZTcq0rGNKABkDTFYmRYUEDg; " +
	"_cs_eID=01a21c0d-f737-72b1-a48b-6f0c6908e947"

// BenchmarkServeHTTPHarnessLiveRate is the harness at the live rate: its
// own requests and recorder, and the sleeps that pace them, to subtract
// from BenchmarkServeHTTPReturningLiveRate.
func BenchmarkServeHTTPHarnessLiveRate(b *testing.B) {
	runPacedServeBench(b, passThrough{}, *liveRate, func(int) *http.Request { return benchRequest(harnessCookie) })
}

type passThrough struct{}

func (passThrough) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return next.ServeHTTP(w, r)
}

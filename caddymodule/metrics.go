package caddymodule

import (
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// The collectors are made once per process and registered again into every
// config's registry (each config load gets a new one), so their values
// survive reloads and /metrics always serves the live ones.
var metrics struct {
	once          sync.Once
	events        prometheus.Counter
	newClients    prometheus.Counter
	newSessions   prometheus.Counter
	fallbacks     *prometheus.CounterVec
	storeDuration *prometheus.HistogramVec
	all           []prometheus.Collector
}

func initMetrics() {
	const ns, sub = "caddy", "session"
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help})
	}
	metrics.events = counter("events_total", "Requests that got a session event.")
	metrics.newClients = counter("new_clients_total", "Events that created a new client.")
	metrics.newSessions = counter("new_sessions_total", "Events that started a new session.")
	metrics.fallbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: sub, Name: "fallbacks_total",
		Help: "Events processed from cookies alone because the store failed or was skipped, by reason.",
	}, []string{"reason"})
	metrics.storeDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: ns, Subsystem: sub, Name: "store_duration_seconds",
		Help:    "Duration of store back-end calls, by operation.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	}, []string{"op"})
	// Every label value exists from the start: an alert on a reason or an
	// operation sees 0, not "no data", before the first one happens.
	for _, reason := range sessionstore.Reasons {
		metrics.fallbacks.WithLabelValues(reason)
	}
	for _, op := range sessionstore.Ops {
		metrics.storeDuration.WithLabelValues(op)
	}
	metrics.all = []prometheus.Collector{
		metrics.events, metrics.newClients, metrics.newSessions, metrics.fallbacks, metrics.storeDuration,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "store_queue_depth", Help: "Objects waiting to be written.",
		}, func() float64 { return sumStores(func(s sessionstore.Stats) float64 { return float64(s.QueueDepth) }) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "store_dropped_total", Help: "Writes dropped because the queue was full.",
		}, func() float64 {
			return sumStores(func(s sessionstore.Stats) float64 { return float64(s.DroppedWrites) })
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "breaker_open", Help: "Stores whose circuit breaker is open.",
		}, func() float64 {
			return sumStores(func(s sessionstore.Stats) float64 { return boolFloat(s.BreakerOpen) })
		}),
	}
}

// registerMetrics adds the collectors to a config's registry.
func registerMetrics(reg *prometheus.Registry) error {
	metrics.once.Do(initMetrics)
	for _, c := range metrics.all {
		if err := reg.Register(c); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			return err
		}
	}
	return nil
}

// countEvent records one event.
func countEvent(ev sessionstore.Event) {
	metrics.events.Inc()
	if ev.NewClient {
		metrics.newClients.Inc()
	}
	if ev.NewSession {
		metrics.newSessions.Inc()
	}
	if ev.Fallback {
		metrics.fallbacks.WithLabelValues(ev.FallbackReason).Inc()
	}
}

// observeStore is the stores' timing hook.
func observeStore(op string, d time.Duration) {
	metrics.once.Do(initMetrics)
	metrics.storeDuration.WithLabelValues(op).Observe(d.Seconds())
}

func sumStores(f func(sessionstore.Stats) float64) float64 {
	var total float64
	for _, s := range pooledStores() {
		total += f(s.Stats())
	}
	return total
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

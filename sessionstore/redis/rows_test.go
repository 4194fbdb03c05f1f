package redis

import (
	"context"
	"testing"
	"time"

	"github.com/c0f4626f/caddy-session/internal/storetest"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// A client that comes back every day keeps only the ended sessions within
// the retention in Redis, trimmed when its next session ends.
func TestRedisSessionRowsPastRetentionAreTrimmed(t *testing.T) {
	const retention = 10 * 24 * time.Hour
	s, raw := redisStoreWithRetention(t, retention)
	now := time.Now()
	id := dailyVisits(t, s, now.Add(-30*24*time.Hour), 31)
	rows := storedRows(t, raw, id)
	for _, row := range rows {
		if now.Sub(row.LastSeen) > retention+time.Second { // the second: Redis's clock at the last write
			t.Errorf("an ended session last seen %v ago is still in Redis (retention %v)", now.Sub(row.LastSeen).Round(time.Hour), retention)
		}
	}
	if len(rows) < 9 || len(rows) > 11 {
		t.Errorf("%d ended sessions in Redis after 31 daily visits, want the 10 or so within the retention", len(rows))
	}
}

// With a long retention the rows are capped: the newest are kept.
func TestRedisSessionRowsAreCapped(t *testing.T) {
	s, raw := redisStoreWithRetention(t, 400*24*time.Hour)
	now := time.Now()
	const days = maxRedisSessionRows + 30
	id := dailyVisits(t, s, now.Add(-days*24*time.Hour), days+1)
	rows := storedRows(t, raw, id)
	if len(rows) != maxRedisSessionRows {
		t.Fatalf("%d ended sessions in Redis after %d daily visits, want the cap %d", len(rows), days+1, maxRedisSessionRows)
	}
	oldestKept := now.Add(-maxRedisSessionRows * 24 * time.Hour)
	for _, row := range rows {
		if row.LastSeen.Before(oldestKept.Add(-time.Hour)) {
			t.Fatalf("an old session (last seen %v ago) was kept over a newer one", now.Sub(row.LastSeen).Round(time.Hour))
		}
	}
}

func redisStoreWithRetention(t *testing.T, retention time.Duration) (*sessionstore.Store, *goredis.Client) {
	r := storetest.StartRedis(t)
	raw := r.Client()
	t.Cleanup(func() { raw.Close() })
	s := sessionstore.NewShared(sessionstore.Config{Retention: retention}, func() (sessionstore.Shared, error) {
		return Open(Options{Addresses: []string{r.Addr()}, KeyPrefix: "test:"})
	})
	t.Cleanup(func() { s.Close() })
	return s, raw
}

// dailyVisits makes one client visit once a day, n days from start, each
// visit a new session, and returns the client.
func dailyVisits(t *testing.T, s *sessionstore.Store, start time.Time, n int) (id uuid.UUID) {
	t.Helper()
	o := storetest.Opts
	o.PersistImmediately = true
	ev := storetest.Visit(s, start, sessionstore.Claim{}, o)
	for day := 1; day < n; day++ {
		next := storetest.Visit(s, start.Add(time.Duration(day)*24*time.Hour), storetest.Returning(ev), o)
		if next.Fallback || next.ClientID != ev.ClientID || !next.NewSession {
			t.Fatalf("visit of day %d: %+v", day, next)
		}
		ev = next
	}
	return ev.ClientID
}

// storedRows reads a client's ended sessions straight from Redis.
func storedRows(t *testing.T, raw *goredis.Client, id uuid.UUID) []sessionstore.SessionRow {
	t.Helper()
	fields, err := raw.HGetAll(context.Background(), (&Backend{prefix: "test:"}).keys(id).sessions).Result()
	if err != nil {
		t.Fatal(err)
	}
	var rows []sessionstore.SessionRow
	for field, value := range fields {
		row, err := decodeRow(id, field, value)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	return rows
}

package sqlite

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/internal/storetest"
	"github.com/c0f4626f/caddy-session/sessionstore"
)

// BenchmarkSaveReturningClients is the group commit as a one-core Caddy
// runs it under returning visitors: 2,000 stored clients, about 700 of them
// in each 100 ms batch, each row a different client. ns/op is per row.
func BenchmarkSaveReturningClients(b *testing.B) {
	db := openTemp(b)
	clients := make([]sessionstore.Object, 2000)
	for i := range clients {
		clients[i] = storetest.SampleObject()
		clients[i].ClientID, clients[i].LastSeen = uuid.New(), time.Now()
	}
	if err := db.Save(b.Context(), sessionstore.Batch{Objects: clients}); err != nil {
		b.Fatal(err)
	}
	const perBatch = 700
	b.ResetTimer()
	for n := 0; n < b.N; n += perBatch {
		batch := sessionstore.Batch{Objects: make([]sessionstore.Object, 0, perBatch)}
		for _, i := range rand.Perm(len(clients))[:perBatch] {
			clients[i].LastSeen = time.Now()
			clients[i].EventNumber++
			batch.Objects = append(batch.Objects, clients[i])
		}
		if err := db.Save(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}
}

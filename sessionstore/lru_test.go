package sessionstore

import (
	"testing"
	"time"
)

func TestLRUKeepsTheMostRecent(t *testing.T) {
	c := newLRU(3)
	now := time.UnixMilli(time.Now().UnixMilli())
	objs := make([]Object, 5)
	for i := range objs {
		objs[i], _ = applyVisit(nil, Visit{EventID: NewID(now), Now: now, Path: "/p"}, Policy{SessionTimeout: 30 * time.Minute})
	}
	c.put(objs[0])
	c.put(objs[1])
	c.put(objs[2])
	if got, ok := c.get(objs[0].ClientID); !ok || got != objs[0] {
		t.Fatalf("get: %+v %v", got, ok)
	}
	if dropped := c.put(objs[3]); dropped != 1 { // drops objs[1], the least recent
		t.Fatalf("dropped %d, want 1", dropped)
	}
	if _, ok := c.get(objs[1].ClientID); ok {
		t.Fatal("the least recently used object survived")
	}
	updated := objs[2]
	updated.EventNumber = 9
	c.put(updated)
	if got, _ := c.get(objs[2].ClientID); got.EventNumber != 9 || c.len() != 3 {
		t.Fatalf("update in place: %+v, len %d", got, c.len())
	}
	if !c.remove(objs[0].ClientID) || c.remove(objs[0].ClientID) || c.len() != 2 {
		t.Fatal("remove")
	}
	c.put(objs[4]) // reuses the freed slot
	for _, o := range []Object{objs[2], objs[3], objs[4]} {
		if _, ok := c.get(o.ClientID); !ok {
			t.Fatalf("lost %s", o.ClientID)
		}
	}
	if len(c.slots) != 3 {
		t.Fatalf("%d slots for 3 objects: freed slots are not reused", len(c.slots))
	}
}

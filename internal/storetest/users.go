package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// ExpectUserBinding runs the life of a login on the stores (instances of
// one back end, visited in turn): a returning client and a brand-new one
// are bound to a user, the binding holds for later events and sessions and
// in their rows, an invalid user ID is refused, and erasing the user erases
// and tombstones both clients and no other.
func ExpectUserBinding(t *testing.T, stores ...*sessionstore.Store) {
	t.Helper()
	ctx := context.Background()
	at := func(i int) *sessionstore.Store { return stores[i%len(stores)] }
	const user = "user-42@example.com"
	now := time.Now()

	first := Visit(at(0), now, sessionstore.Claim{}, Opts)
	second := Visit(at(1), now.Add(time.Second), Returning(first), Opts)
	if err := at(2).BindUser(ctx, Returning(second), user, Opts); err != nil {
		t.Fatalf("bind: %v", err)
	}
	if err := at(0).BindUser(ctx, Returning(second), "bad\x00id", Opts); !errors.Is(err, sessionstore.ErrInvalidUserID) {
		t.Fatalf("an invalid user ID: %v, want ErrInvalidUserID", err)
	}
	third := Visit(at(3), now.Add(2*time.Second), Returning(second), Opts)
	later := Visit(at(4), now.Add(time.Hour), Returning(third), Opts) // a new session
	if third.UserID != user || later.UserID != user || !later.NewSession || later.Fallback {
		t.Fatalf("events after the binding: %+v then %+v, want user %q", third, later, user)
	}
	obj, sessions, err := at(0).Inspect(ctx, first.ClientID)
	if err != nil || obj == nil || obj.UserID != user || obj.TotalEvents != 4 || len(sessions) != 2 ||
		sessions[0].UserID != user || sessions[1].UserID != user {
		t.Fatalf("stored client: %+v, sessions %+v (%v)", obj, sessions, err)
	}

	newcomer := Visit(at(1), now.Add(3*time.Second), sessionstore.Claim{}, Opts) // a second browser
	if err := at(1).BindUser(ctx, Returning(newcomer), user, Opts); err != nil {
		t.Fatalf("bind a new client: %v", err)
	}
	other := Visit(at(0), now.Add(3*time.Second), sessionstore.Claim{}, Opts)
	Visit(at(0), now.Add(4*time.Second), Returning(other), Opts) // stored, never bound

	erased, err := at(2).EraseUser(ctx, user, now.Add(time.Hour))
	want := []uuid.UUID{first.ClientID, newcomer.ClientID}
	if err != nil || len(erased) != 2 || !slices.Contains(erased, want[0]) || !slices.Contains(erased, want[1]) {
		t.Fatalf("erase the user: %v (%v), want %v", erased, err, want)
	}
	for _, ev := range []sessionstore.Event{later, newcomer} {
		if obj, _, _ := at(0).Inspect(ctx, ev.ClientID); obj != nil {
			t.Fatalf("an erased client is still stored: %+v", obj)
		}
		if back := Visit(at(1), now.Add(5*time.Second), Returning(ev), Opts); back.ClientID == ev.ClientID || !back.NewClient {
			t.Fatalf("an erased client came back: %+v", back)
		}
	}
	if obj, _, _ := at(0).Inspect(ctx, other.ClientID); obj == nil {
		t.Fatal("erasing the user erased a client it was never bound to")
	}
	if again, err := at(0).EraseUser(ctx, user, now.Add(time.Hour)); err != nil || len(again) != 0 {
		t.Fatalf("a second erasure of the user: %v (%v), want none", again, err)
	}
}

// ExpectEitherUserErasesABrowserOfTwo logs two browsers in as one user and
// then another within one session (the first within one flush interval,
// the second with a flush between), and expects erasure by either user to
// erase and tombstone the browser: the first user of the first browser,
// the second user of the second.
func ExpectEitherUserErasesABrowserOfTwo(t *testing.T, s *sessionstore.Store) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	browser := func(first, second string, flushBetween bool) sessionstore.Event {
		ev := Visit(s, now, sessionstore.Claim{}, Opts)
		ev = Visit(s, now.Add(time.Second), Returning(ev), Opts)
		if err := s.BindUser(ctx, Returning(ev), first, Opts); err != nil {
			t.Fatalf("bind %s: %v", first, err)
		}
		if flushBetween {
			Flush(t, s)
		}
		if err := s.BindUser(ctx, Returning(ev), second, Opts); err != nil {
			t.Fatalf("bind %s: %v", second, err)
		}
		return Visit(s, now.Add(2*time.Second), Returning(ev), Opts)
	}
	shared := browser("anna", "ben", false)
	other := browser("carla", "dan", true)
	for _, c := range []struct {
		user string
		ev   sessionstore.Event
	}{{"anna", shared}, {"dan", other}} {
		if c.ev.NewSession || c.ev.Fallback {
			t.Fatalf("both logins were to be in one session: %+v", c.ev)
		}
		erased, err := s.EraseUser(ctx, c.user, now.Add(time.Hour))
		if err != nil || len(erased) != 1 || erased[0] != c.ev.ClientID {
			t.Fatalf("erase %s: %v (%v), want the browser %s", c.user, erased, err, c.ev.ClientID)
		}
		if obj, _, _ := s.Inspect(ctx, c.ev.ClientID); obj != nil {
			t.Fatalf("erasing %s left the browser stored: %+v", c.user, obj)
		}
		if back := Visit(s, now.Add(3*time.Second), Returning(c.ev), Opts); back.ClientID == c.ev.ClientID || !back.NewClient {
			t.Fatalf("the browser erased with %s came back: %+v", c.user, back)
		}
	}
}

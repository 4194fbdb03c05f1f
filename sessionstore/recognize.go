package sessionstore

import (
	"time"

	"github.com/google/uuid"
)

// Recognize is what a request that is not an event learns of its client
// without a store call (with events navigations: an image, a script, a
// fetch call of a page): the valid client, session and last event IDs of
// its claim, unless the client was erased, and eventID, which is recorded
// nowhere. known is false when the claim names no client that may be used.
func (s *Store) Recognize(c Claim, eventID uuid.UUID, now time.Time) (ev Event, known bool) {
	c = c.sanitize(now)
	if c.ClientID == uuid.Nil || s.tombs.has(c.ClientID, now) {
		return Event{EventID: eventID}, false
	}
	return Event{ClientID: c.ClientID, SessionID: c.SessionID, EventID: eventID, PreviousEventID: c.EventID}, true
}

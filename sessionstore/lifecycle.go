package sessionstore

import (
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/internal/clienttext"
)

// This file holds every rule of the session lifecycle. Each store runs it
// inside the client's object; the fallback path runs it on an object rebuilt
// from cookies. Nothing else decides when a session starts or ends.

// Policy is the part of the configuration that the lifecycle obeys.
type Policy struct {
	// SessionTimeout ends a session after this much inactivity.
	SessionTimeout time.Duration
	// MaxDuration ends a session this long after it started; 0 = no limit.
	MaxDuration time.Duration
}

// Claim is what a request says about its client: the IDs from verified
// cookies, uuid.Nil where absent.
type Claim struct {
	ClientID, SessionID, EventID uuid.UUID
	// FromCookie is true when ClientID came from the client's own cookie,
	// false when the bootstrap window lent it to a cookieless request.
	FromCookie bool
}

// Visit is one request as the lifecycle sees it.
type Visit struct {
	Claim Claim
	// EventID is the new event's ID, minted at Now.
	EventID uuid.UUID
	Now     time.Time
	// Path is the request path without its query; it becomes the landing
	// path of a new session. Store.Visit passes it through clienttext.Clean
	// (MaxLandingPath bytes).
	Path string
	// Landing attributes the session when this visit starts one.
	Landing Landing
	// Geo is where the client is; kept by the session this visit starts.
	Geo Geo
	// BootstrapKey identifies a browser without cookies for the bootstrap
	// window; the zero key disables sharing for this request.
	BootstrapKey BootstrapKey
	// PageLoad marks a top-level page load (a navigation): it never joins
	// another client through the bootstrap window (see bootstrap.go).
	PageLoad bool
}

// Object is the per-client state: the Durable Object's storage.
type Object struct {
	ClientID       uuid.UUID
	FirstSeen      time.Time
	LastSeen       time.Time
	SessionID      uuid.UUID
	SessionStarted time.Time
	SessionNumber  int64
	EventNumber    int64
	TotalEvents    int64
	LastEventID    uuid.UUID
	LandingPath    string
	Attribution
	Geo
	// UserID is the application's user the client is bound to ("" when
	// none): the one a response last named, see bind.
	UserID string
}

// SessionRow is the analytics row of one session.
type SessionRow struct {
	SessionID   uuid.UUID
	ClientID    uuid.UUID
	Started     time.Time
	LastSeen    time.Time
	Events      int64
	LandingPath string
	Attribution
	Geo
	// UserID is the user the client was bound to when the row was last
	// written.
	UserID string
}

// Event is the outcome of one visit: what the request is told.
type Event struct {
	ClientID        uuid.UUID
	SessionID       uuid.UUID
	EventID         uuid.UUID
	PreviousEventID uuid.UUID
	NewClient       bool
	NewSession      bool
	// SessionNumber and EventNumber are 0 when unknown (fallback).
	SessionNumber int64
	EventNumber   int64
	// Fallback is set when the store failed or was skipped; FallbackReason
	// says why.
	Fallback       bool
	FallbackReason string
	// Attribution is the session's first touch; empty in a fallback that
	// continues a session (the cookies do not carry it).
	Attribution
	// UserID is the user the stored client is bound to; empty in a
	// fallback (the cookies do not carry it).
	UserID string
}

// Session returns the analytics row of the object's current session.
func (o *Object) Session() SessionRow {
	return SessionRow{
		SessionID: o.SessionID, ClientID: o.ClientID,
		Started: o.SessionStarted, LastSeen: o.LastSeen, Events: o.EventNumber,
		LandingPath: o.LandingPath, Attribution: o.Attribution, Geo: o.Geo, UserID: o.UserID,
	}
}

// sanitize drops the IDs that the lifecycle must treat as absent: anything
// that is not a UUIDv7 or lies too far in the future.
func (c Claim) sanitize(now time.Time) Claim {
	if !validID(c.ClientID, now) {
		return Claim{}
	}
	if !validID(c.SessionID, now) {
		c.SessionID = uuid.Nil
	}
	if !validID(c.EventID, now) {
		c.EventID = uuid.Nil
	}
	return c
}

// applyVisit applies one visit to a client's object and returns the object's
// new state and the event. prev nil means a new client.
func applyVisit(prev *Object, v Visit, p Policy) (Object, Event) {
	if prev == nil {
		return newClient(v)
	}
	next := *prev
	ev := Event{ClientID: next.ClientID, EventID: v.EventID, PreviousEventID: prev.LastEventID}
	if p.continues(prev, v.Now) {
		next.EventNumber++
	} else {
		next.startSession(v)
		ev.NewSession = true
	}
	next.TotalEvents++
	next.LastSeen = v.Now
	next.LastEventID = v.EventID
	ev.SessionID = next.SessionID
	ev.SessionNumber = next.SessionNumber
	ev.EventNumber = next.EventNumber
	ev.Attribution = next.Attribution
	ev.UserID = next.UserID
	return next, ev
}

func newClient(v Visit) (Object, Event) {
	obj := Object{ClientID: v.EventID, FirstSeen: v.Now}
	obj.startSession(v)
	obj.TotalEvents = 1
	obj.LastSeen = v.Now
	obj.LastEventID = v.EventID
	return obj, Event{
		ClientID: obj.ClientID, SessionID: obj.SessionID, EventID: v.EventID,
		NewClient: true, NewSession: true, SessionNumber: 1, EventNumber: 1,
		Attribution: obj.Attribution,
	}
}

func (o *Object) startSession(v Visit) {
	o.SessionID = v.EventID
	o.SessionStarted = v.Now
	o.SessionNumber++
	o.EventNumber = 1
	o.LandingPath = strings.Clone(v.Path) // a slice of the request line
	o.Attribution = v.Landing.attribution()
	o.Geo = v.Geo.kept()
}

// bind is what a login changes: the client belongs to the user from now
// on, and so does its current session (its row carries the user it has when
// it is written) and every later one, until another binding names another
// user. A binding is not an event: counters, session and activity stay as
// they are. A reset (a new client for the browser) leaves the bound client
// as it is.
func bind(o Object, userID string) Object {
	o.UserID = userID
	return o
}

// MaxUserID bounds the user ID a client is bound to.
const MaxUserID = 128

// ValidUserID reports whether id can be bound: not all spaces, and a text
// that clienttext.Clean keeps as it is (1 to MaxUserID bytes of valid UTF-8
// without control characters). An ID is refused rather than escaped: an
// altered ID would name another user.
func ValidUserID(id string) bool {
	return strings.TrimSpace(id) != "" && clienttext.Clean(id, MaxUserID) == id
}

// continues reports whether a request at now belongs to the object's current
// session.
func (p Policy) continues(o *Object, now time.Time) bool {
	if o.SessionID == uuid.Nil {
		return false
	}
	if now.Sub(o.LastSeen) > p.SessionTimeout {
		return false
	}
	return p.MaxDuration <= 0 || now.Sub(o.SessionStarted) <= p.MaxDuration
}

// rehydrate rebuilds an object from a claim when the store has none: the IDs'
// timestamps give first_seen, session start and last activity. Counters
// restart from what the cookies prove: one session, one event. It returns nil
// when the claim names no client.
func rehydrate(c Claim) *Object {
	if c.ClientID == uuid.Nil {
		return nil
	}
	o := &Object{ClientID: c.ClientID, FirstSeen: idTime(c.ClientID), LastSeen: idTime(c.ClientID), TotalEvents: 1}
	if c.SessionID != uuid.Nil {
		o.SessionID = c.SessionID
		o.SessionStarted = idTime(c.SessionID)
		o.SessionNumber, o.EventNumber = 1, 1
		o.LastSeen = o.SessionStarted
	}
	if c.EventID != uuid.Nil {
		o.LastEventID = c.EventID
		o.LastSeen = idTime(c.EventID)
	}
	return o
}

// Fallback processes a visit from its claim alone, for when the store failed
// or was skipped. Counters the cookies cannot prove are reported as unknown.
func Fallback(v Visit, p Policy, reason string) Event {
	prev := rehydrate(v.Claim)
	_, ev := applyVisit(prev, v, p)
	if prev != nil {
		ev.SessionNumber = 0
		if !ev.NewSession {
			ev.EventNumber = 0
		}
	}
	ev.Fallback, ev.FallbackReason = true, reason
	return ev
}

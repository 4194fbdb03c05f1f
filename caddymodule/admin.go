package caddymodule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

func init() {
	caddy.RegisterModule(adminAPI{})
}

// adminAPI serves the session endpoints of Caddy's admin API:
//
//	GET    /session/stats          every store: kind, health, breaker, queue, drops, objects
//	GET    /session/clients/<cID>  a client's object and its recent sessions
//	DELETE /session/clients/<cID>  erasure: object and sessions removed, cID tombstoned
//	DELETE /session/users/<id>     erasure of every client bound to the user
//	GET    /session/dashboard      the analytics dashboard (HTML), dashboard.go
//	GET    /session/dashboard.json its numbers
//
// It reads the live stores from the process-wide pool at request time.
type adminAPI struct{}

// CaddyModule returns the Caddy module information.
func (adminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.session",
		New: func() caddy.Module { return new(adminAPI) },
	}
}

// Routes implements caddy.AdminRouter.
func (a adminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{
		{Pattern: "/session/stats", Handler: caddy.AdminHandlerFunc(a.stats)},
		{Pattern: "/session/clients/", Handler: caddy.AdminHandlerFunc(a.client)},
		{Pattern: "/session/users/", Handler: caddy.AdminHandlerFunc(a.user)},
		{Pattern: "/session/dashboard", Handler: caddy.AdminHandlerFunc(a.dashboard)},
		{Pattern: "/session/dashboard.json", Handler: caddy.AdminHandlerFunc(a.dashboardJSON)},
	}
}

// tombstoneFor is how long an erased cID stays refused: the longest a
// browser keeps the cookie.
const tombstoneFor = defaultMaxAge

// adminFlushTimeout bounds the flush before the admin API reads the store.
const adminFlushTimeout = 2 * time.Second

type storeStats struct {
	Store   string `json:"store"`
	Kind    string `json:"kind"`
	Objects *int64 `json:"objects"`
	sessionstore.Stats
}

func (adminAPI) stats(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return methodNotAllowed(r)
	}
	out := struct {
		Stores []storeStats `json:"stores"`
	}{Stores: []storeStats{}}
	for _, s := range pooledStores() {
		st := storeStats{Store: s.key, Kind: strings.SplitN(s.key, ":", 2)[0], Stats: s.Stats()}
		// Count what is written, including what was acknowledged until now.
		ctx, cancel := context.WithTimeout(r.Context(), adminFlushTimeout)
		err := s.Flush(ctx)
		cancel()
		if n, cerr := s.Count(r.Context()); err == nil && cerr == nil {
			st.Objects = &n
		}
		out.Stores = append(out.Stores, st)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (adminAPI) client(w http.ResponseWriter, r *http.Request) error {
	id, err := uuid.Parse(strings.TrimPrefix(r.URL.Path, "/session/clients/"))
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: fmt.Errorf("malformed client ID: %v", err)}
	}
	switch r.Method {
	case http.MethodGet:
		return inspectClient(w, r, id)
	case http.MethodDelete:
		return eraseClient(w, r, id)
	default:
		return methodNotAllowed(r)
	}
}

func inspectClient(w http.ResponseWriter, r *http.Request, id uuid.UUID) error {
	for _, s := range pooledStores() {
		obj, sessions, err := s.Inspect(r.Context(), id)
		if err != nil {
			return storeError(err)
		}
		if obj != nil {
			return writeJSON(w, http.StatusOK, newClientView(s.key, obj, sessions))
		}
	}
	return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: errors.New("unknown client")}
}

// eraseClient erases the client from every store. The cID is tombstoned even
// when no store knows it (its cookies could otherwise rebuild it).
func eraseClient(w http.ResponseWriter, r *http.Request, id uuid.UUID) error {
	found := false
	until := time.Now().Add(tombstoneFor)
	for _, s := range pooledStores() {
		ok, err := s.Erase(r.Context(), id, until)
		if err != nil {
			return storeError(err)
		}
		found = found || ok
	}
	if !found {
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: errors.New("unknown client (its ID is tombstoned anyway)")}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"erased": id.String(), "tombstoned_until": until.UTC()})
}

// user erases every client bound to the user, in every store. The user ID
// is the rest of the path, URL-escaped (userPath).
func (adminAPI) user(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodDelete {
		return methodNotAllowed(r)
	}
	userID := strings.TrimPrefix(r.URL.Path, "/session/users/")
	if !sessionstore.ValidUserID(userID) {
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: sessionstore.ErrInvalidUserID}
	}
	until := time.Now().Add(tombstoneFor)
	erased := []string{}
	for _, s := range pooledStores() {
		ids, err := s.EraseUser(r.Context(), userID, until)
		for _, id := range ids {
			erased = append(erased, id.String())
		}
		if err != nil {
			return storeError(err)
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"user_id": userID, "erased": len(erased),
		"clients": erased, "tombstoned_until": until.UTC()})
}

// userPath is the admin path that erases a user's clients. Every byte but
// letters, digits, "-", "_" and "~" is percent-escaped: the path goes into a
// shell command (a "&" or "$" left as url.PathEscape leaves it would end or
// change the command, and so erase another user), and a user ID "." or ".."
// left as it is would be a path step that the admin router cleans away.
func userPath(userID string) string {
	var b strings.Builder
	b.WriteString("/session/users/")
	for i := 0; i < len(userID); i++ {
		c := userID[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// storeError answers a store call that failed: 501 when the back end lacks
// the ability (a third-party store without erasure, say), 503 otherwise.
func storeError(err error) error {
	if errors.Is(err, sessionstore.ErrUnsupported) {
		return caddy.APIError{HTTPStatus: http.StatusNotImplemented, Err: err}
	}
	return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: err}
}

// clientView is the JSON form of a client for operators.
type clientView struct {
	Store          string        `json:"store"`
	ClientID       string        `json:"client_id"`
	FirstSeen      time.Time     `json:"first_seen"`
	LastSeen       time.Time     `json:"last_seen"`
	SessionID      string        `json:"session_id"`
	SessionStarted time.Time     `json:"session_started"`
	SessionNumber  int64         `json:"session_number"`
	EventNumber    int64         `json:"event_number"`
	TotalEvents    int64         `json:"total_events"`
	LastEventID    string        `json:"last_event_id"`
	UserID         string        `json:"user_id"`
	Sessions       []sessionView `json:"sessions"`
}

type sessionView struct {
	SessionID      string    `json:"session_id"`
	Started        time.Time `json:"started"`
	LastSeen       time.Time `json:"last_seen"`
	Events         int64     `json:"events"`
	LandingPath    string    `json:"landing_path"`
	ReferrerOrigin string    `json:"referrer_origin"`
	UTMSource      string    `json:"utm_source"`
	UTMMedium      string    `json:"utm_medium"`
	UTMCampaign    string    `json:"utm_campaign"`
	UTMTerm        string    `json:"utm_term"`
	UTMContent     string    `json:"utm_content"`
	ClickIDParam   string    `json:"click_id_param"`
	Country        string    `json:"country"`
	Continent      string    `json:"continent"`
	Region         string    `json:"region"`
	City           string    `json:"city"`
	UserID         string    `json:"user_id"`
}

func newClientView(store string, o *sessionstore.Object, sessions []sessionstore.SessionRow) clientView {
	v := clientView{
		Store: store, ClientID: o.ClientID.String(), FirstSeen: o.FirstSeen.UTC(), LastSeen: o.LastSeen.UTC(),
		SessionID: o.SessionID.String(), SessionStarted: o.SessionStarted.UTC(), SessionNumber: o.SessionNumber,
		EventNumber: o.EventNumber, TotalEvents: o.TotalEvents, LastEventID: o.LastEventID.String(),
		UserID: o.UserID, Sessions: []sessionView{},
	}
	for _, s := range sessions {
		v.Sessions = append(v.Sessions, newSessionView(s))
	}
	return v
}

func newSessionView(s sessionstore.SessionRow) sessionView {
	return sessionView{
		SessionID: s.SessionID.String(), Started: s.Started.UTC(), LastSeen: s.LastSeen.UTC(),
		Events: s.Events, LandingPath: s.LandingPath, ReferrerOrigin: s.ReferrerOrigin,
		UTMSource: s.UTMSource, UTMMedium: s.UTMMedium, UTMCampaign: s.UTMCampaign, UTMTerm: s.UTMTerm,
		UTMContent: s.UTMContent, ClickIDParam: s.ClickIDParam,
		Country: s.Country, Continent: s.Continent, Region: s.Region, City: s.City, UserID: s.UserID,
	}
}

func methodNotAllowed(r *http.Request) error {
	return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("method %s not allowed", r.Method)}
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// Interface guards
var _ caddy.AdminRouter = adminAPI{}

package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// This file holds what the command line does with a database file: read it
// without taking it from a running Caddy, and tell whether one holds it.

// OpenReadOnly opens an existing session database for reading only,
// without the process lock: safe beside a running Caddy (WAL readers never block the
// writer).
func OpenReadOnly(path string) (*Backend, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	if err := requireSessionTables(db, path); err != nil {
		db.Close()
		return nil, err
	}
	missing, err := missingColumns(db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("opening session database %s: %w", path, err)
	}
	s := &Backend{db: db, unlock: func() error { return nil }, path: path, sessionColumns: sessionColumns(missing)}
	if s.load, err = db.Prepare(sqlLoad); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening session database %s: %w", path, err)
	}
	return s, nil
}

// FileStats summarises a database.
type FileStats struct {
	Clients    int64      `json:"clients"`
	Sessions   int64      `json:"sessions"`
	Tombstones int64      `json:"tombstones"`
	Events     int64      `json:"events"`
	FirstSeen  *time.Time `json:"first_seen,omitempty"`
	LastSeen   *time.Time `json:"last_seen,omitempty"`
}

// FileStats counts what the database holds. It reads every client (the
// event counts are inside their state): for the command line, not for
// monitoring.
func (s *Backend) FileStats(ctx context.Context) (FileStats, error) {
	var st FileStats
	if err := s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM tombstones)`).
		Scan(&st.Sessions, &st.Tombstones); err != nil {
		return st, err
	}
	err := s.EachClient(ctx, time.Time{}, func(o sessionstore.Object) error {
		st.Clients++
		st.Sessions++ // its current session
		st.Events += o.TotalEvents
		if st.FirstSeen == nil || o.FirstSeen.Before(*st.FirstSeen) {
			st.FirstSeen = &o.FirstSeen
		}
		if st.LastSeen == nil || o.LastSeen.After(*st.LastSeen) {
			st.LastSeen = &o.LastSeen
		}
		return nil
	})
	return st, err
}

// EachClient calls fn for every object last seen at or after since, oldest
// activity first.
func (s *Backend) EachClient(ctx context.Context, since time.Time, fn func(sessionstore.Object) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT cid, last_seen, state FROM clients WHERE last_seen >= ? ORDER BY last_seen`, since.UnixMilli())
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var cid, state []byte
		var lastSeen int64
		if err := rows.Scan(&cid, &lastSeen, &state); err != nil {
			return err
		}
		id, err := uuid.FromBytes(cid)
		if err != nil {
			return err
		}
		o, err := decodeClient(id, lastSeen, state)
		if err != nil {
			return err
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return rows.Err()
}

// EachSession calls fn for every session last seen at or after since: the
// ended ones, then the clients' current ones.
func (s *Backend) EachSession(ctx context.Context, since time.Time, fn func(sessionstore.SessionRow) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT cid, `+s.sessionColumns+`
	FROM sessions WHERE last_seen >= ? ORDER BY started`, since.UnixMilli())
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var cid []byte
		r, err := scanSession(rows, &cid)
		if err != nil {
			return err
		}
		if r.ClientID, err = uuid.FromBytes(cid); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return s.EachClient(ctx, since, func(o sessionstore.Object) error { return fn(o.Session()) })
}

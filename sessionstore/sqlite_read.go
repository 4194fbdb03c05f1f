package sessionstore

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"time"

	"github.com/google/uuid"
)

// This file holds what the command line does with a database file: read it
// without taking it from a running Caddy, and tell whether one holds it.

// OpenSQLiteReadOnly opens an existing database for reading only, without the
// process lock: safe beside a running Caddy (WAL readers never block the
// writer).
func OpenSQLiteReadOnly(path string) (*SQLite, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	s := &SQLite{db: db, unlock: func() error { return nil }, path: path}
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

// FileStats counts what the database holds.
func (s *SQLite) FileStats(ctx context.Context) (FileStats, error) {
	var st FileStats
	var first, last sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM clients), (SELECT count(*) FROM sessions) + (SELECT count(*) FROM clients),
		(SELECT count(*) FROM tombstones),
		(SELECT coalesce(sum(total_events), 0) FROM clients),
		(SELECT min(first_seen) FROM clients), (SELECT max(last_seen) FROM clients)`).
		Scan(&st.Clients, &st.Sessions, &st.Tombstones, &st.Events, &first, &last)
	if first.Valid {
		t := time.UnixMilli(first.Int64)
		st.FirstSeen = &t
	}
	if last.Valid {
		t := time.UnixMilli(last.Int64)
		st.LastSeen = &t
	}
	return st, err
}

// EachClient calls fn for every object last seen at or after since.
func (s *SQLite) EachClient(ctx context.Context, since time.Time, fn func(Object) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT cid, `+sqlObjectColumns+` FROM clients WHERE last_seen >= ? ORDER BY last_seen`, since.UnixMilli())
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var cid []byte
		o, err := scanObject(rows, &cid)
		if err != nil {
			return err
		}
		if o.ClientID, err = uuid.FromBytes(cid); err != nil {
			return err
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return rows.Err()
}

// EachSession calls fn for every session row last seen at or after since.
func (s *SQLite) EachSession(ctx context.Context, since time.Time, fn func(SessionRow) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT * FROM (`+sqlSessionsUnion+`) WHERE last_seen >= ? ORDER BY started`, since.UnixMilli())
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
	return rows.Err()
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite" // pure-Go driver: builds with CGO off, as xcaddy does

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// Backend is the embedded back end: one WAL database file per path, owned
// by one process at a time, run by sessionstore.NewWriteBehind.
type Backend struct {
	db     *sql.DB
	unlock func() error
	load   *sql.Stmt
	// upsertClient and upsertSession are prepared once: preparing them for
	// every group commit cost about as much as writing 80 rows.
	upsertClient, upsertSession *sql.Stmt
	// upsertBinding and extendBindings write the bindings (bindings.go).
	upsertBinding, extendBindings *sql.Stmt
	// sessionColumns is the select list of a session row (columns.go).
	sessionColumns string
	path           string
	file           os.FileInfo // the file opened, to notice it being removed or replaced
	lost           atomic.Bool // the file at path is no longer the one opened
}

const sqliteSchema = `
-- One row per client; state is the rest of its object (sessionstore.Object.MarshalBinary),
-- including its current session.
CREATE TABLE IF NOT EXISTS clients (
	cid       BLOB PRIMARY KEY,
	last_seen INTEGER NOT NULL,
	state     BLOB NOT NULL,
	user_id   TEXT NOT NULL DEFAULT '', -- also in state; a column for erasure by user
	last_seen_hour INTEGER NOT NULL DEFAULT 0 -- last_seen / 1 hour, indexed for the sweep (last_seen_hour.go)
) WITHOUT ROWID;
-- Ended sessions.
CREATE TABLE IF NOT EXISTS sessions (
	sid             BLOB PRIMARY KEY,
	cid             BLOB NOT NULL,
	started         INTEGER NOT NULL,
	last_seen       INTEGER NOT NULL,
	events          INTEGER NOT NULL,
	landing_path    TEXT NOT NULL,
	referrer_origin TEXT NOT NULL,
	utm_source      TEXT NOT NULL DEFAULT '',
	utm_medium      TEXT NOT NULL DEFAULT '',
	utm_campaign    TEXT NOT NULL DEFAULT '',
	utm_term        TEXT NOT NULL DEFAULT '',
	utm_content     TEXT NOT NULL DEFAULT '',
	click_id_param  TEXT NOT NULL DEFAULT '',
	country         TEXT NOT NULL DEFAULT '',
	continent       TEXT NOT NULL DEFAULT '',
	region          TEXT NOT NULL DEFAULT '',
	city            TEXT NOT NULL DEFAULT '',
	user_id         TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_cid ON sessions (cid);
CREATE INDEX IF NOT EXISTS sessions_last_seen ON sessions (last_seen);
CREATE TABLE IF NOT EXISTS tombstones (
	cid   BLOB PRIMARY KEY,
	until INTEGER NOT NULL
) WITHOUT ROWID;
`

const (
	sqlLoad = `SELECT last_seen, state FROM clients WHERE cid = ?`
	// The update leaves last_seen_hour to its trigger, so that the index
	// moves only when the hour does.
	sqlUpsertClient = `INSERT INTO clients (cid, last_seen, state, user_id, last_seen_hour) VALUES (?1, ?2, ?3, ?4, ?2 / 3600000)
	ON CONFLICT (cid) DO UPDATE SET last_seen = excluded.last_seen, state = excluded.state, user_id = excluded.user_id`
	sqlUpsertSession = `INSERT INTO sessions (sid, cid, started, last_seen, events, landing_path, referrer_origin,
	utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_param, country, continent, region, city, user_id)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (sid) DO UPDATE SET last_seen = excluded.last_seen, events = excluded.events, user_id = excluded.user_id`
	sqlSweepClients  = `DELETE FROM clients WHERE cid IN (SELECT cid FROM clients WHERE last_seen_hour <= ?1 / 3600000 AND last_seen < ?1 LIMIT ?2)`
	sqlSweepSessions = `DELETE FROM sessions WHERE sid IN (SELECT sid FROM sessions WHERE last_seen < ? LIMIT ?)`
)

// Options tune how the database file is written.
type Options struct {
	// FsyncEachCommit makes every commit reach the disk before it is
	// acknowledged (synchronous=FULL), so that a power cut loses nothing
	// acknowledged. Otherwise (synchronous=NORMAL, WAL) a power cut can
	// lose the last commits, though the file stays consistent.
	FsyncEachCommit bool
}

// Open opens (creating if needed) the database at path. It refuses a
// file that another process holds, and never deletes or rewrites a file it
// cannot read: a corrupt database is an error for the operator to look at.
func Open(path string, o Options) (*Backend, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating directory for %s: %w", path, err)
	}
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, err
	}
	synchronous := "NORMAL"
	if o.FsyncEachCommit {
		synchronous = "FULL"
	}
	db, err := sql.Open("sqlite", "file:"+path+
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous("+synchronous+")&_txlock=immediate")
	if err == nil {
		err = initSQLite(db)
	}
	if err != nil {
		if db != nil {
			db.Close()
		}
		unlock()
		return nil, fmt.Errorf("opening session database %s: %w", path, err)
	}
	s := &Backend{db: db, unlock: unlock, path: path, sessionColumns: sessionColumns(nil)}
	if s.file, err = os.Stat(path); err != nil {
		s.Close()
		return nil, err
	}
	if err = s.prepare(); err != nil {
		s.Close()
		return nil, fmt.Errorf("preparing session database %s: %w", path, err)
	}
	return s, nil
}

func (s *Backend) prepare() (err error) {
	if s.load, err = s.db.Prepare(sqlLoad); err != nil {
		return err
	}
	if s.upsertClient, err = s.db.Prepare(sqlUpsertClient); err != nil {
		return err
	}
	if s.upsertSession, err = s.db.Prepare(sqlUpsertSession); err != nil {
		return err
	}
	if s.upsertBinding, err = s.db.Prepare(sqlUpsertBinding); err != nil {
		return err
	}
	s.extendBindings, err = s.db.Prepare(sqlExtendBindings)
	return err
}

// initSQLite checks that the file is a database and creates the schema; it
// is safe to run on every start.
func initSQLite(db *sql.DB) error {
	db.SetMaxOpenConns(4)
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		return err
	}
	if mode != "wal" {
		return fmt.Errorf("journal mode is %q, want wal", mode)
	}
	if _, err := db.Exec(sqliteSchema + dashboardSchema); err != nil {
		return err
	}
	if err := addMissingColumns(db); err != nil {
		return err
	}
	if err := addClientUserColumn(db); err != nil {
		return err
	}
	if err := addBindingsTable(db); err != nil {
		return err
	}
	return indexLastSeenHour(db)
}

// Load implements sessionstore.Loader.
func (s *Backend) Load(ctx context.Context, id uuid.UUID) (*sessionstore.Object, error) {
	var lastSeen int64
	var state []byte
	err := s.load.QueryRowContext(ctx, id[:]).Scan(&lastSeen, &state)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	o, err := decodeClient(id, lastSeen, state)
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// decodeClient rebuilds a client's object from its row.
func decodeClient(id uuid.UUID, lastSeen int64, state []byte) (sessionstore.Object, error) {
	o := sessionstore.Object{ClientID: id, LastSeen: time.UnixMilli(lastSeen)}
	if err := o.UnmarshalBinary(state); err != nil {
		return o, fmt.Errorf("client %s: %w", id, err)
	}
	return o, nil
}

type scanner interface{ Scan(dest ...any) error }

// scanSession reads the columns of sessionColumns after any leading dest
// values.
func scanSession(row scanner, lead ...any) (sessionstore.SessionRow, error) {
	var r sessionstore.SessionRow
	var sid []byte
	var started, last int64
	a := &r.Attribution
	if err := row.Scan(append(lead, &sid, &started, &last, &r.Events, &r.LandingPath, &a.ReferrerOrigin,
		&a.UTMSource, &a.UTMMedium, &a.UTMCampaign, &a.UTMTerm, &a.UTMContent, &a.ClickIDParam,
		&r.Country, &r.Continent, &r.Region, &r.City, &r.UserID)...); err != nil {
		return r, err
	}
	r.Started, r.LastSeen = time.UnixMilli(started), time.UnixMilli(last)
	var err error
	r.SessionID, err = uuid.FromBytes(sid)
	return r, err
}

// Save implements sessionstore.WriteBehind: one transaction per batch. It refuses to write
// into a file that is no longer at its path (removed or replaced behind our
// back): those writes would be lost.
func (s *Backend) Save(ctx context.Context, b sessionstore.Batch) error {
	if err := s.stillThere(); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := saveClients(ctx, tx.StmtContext(ctx, s.upsertClient), b.Objects); err != nil {
		return err
	}
	if err := saveSessions(ctx, tx.StmtContext(ctx, s.upsertSession), b.Sessions); err != nil {
		return err
	}
	if err := saveBindings(ctx, tx.StmtContext(ctx, s.upsertBinding), tx.StmtContext(ctx, s.extendBindings), b); err != nil {
		return err
	}
	return tx.Commit()
}

func saveClients(ctx context.Context, stmt *sql.Stmt, objects []sessionstore.Object) error {
	row := rowContext(ctx)
	for i := range objects {
		if err := ctx.Err(); err != nil {
			return err
		}
		o := &objects[i]
		state, _ := o.MarshalBinary()
		if _, err := stmt.ExecContext(row, o.ClientID[:], o.LastSeen.UnixMilli(), state, o.UserID); err != nil {
			return err
		}
	}
	return nil
}

// rowContext is the context of one row's statement in a batch: the batch
// checks the deadline between rows instead. Given a context that can end,
// the driver starts a watcher goroutine for every statement, which cost
// the writer about as much as the row itself.
func rowContext(ctx context.Context) context.Context {
	return context.WithoutCancel(ctx)
}

func saveSessions(ctx context.Context, stmt *sql.Stmt, rows []sessionstore.SessionRow) error {
	row := rowContext(ctx)
	for i := range rows {
		if err := ctx.Err(); err != nil {
			return err
		}
		r := &rows[i]
		_, err := stmt.ExecContext(row, r.SessionID[:], r.ClientID[:], r.Started.UnixMilli(),
			r.LastSeen.UnixMilli(), r.Events, r.LandingPath, r.ReferrerOrigin,
			r.UTMSource, r.UTMMedium, r.UTMCampaign, r.UTMTerm, r.UTMContent, r.ClickIDParam,
			r.Country, r.Continent, r.Region, r.City, r.UserID)
		if err != nil {
			return err
		}
	}
	return nil
}

// Sessions implements sessionstore.SessionLister: the current session from the object, then
// the ended ones, newest first.
func (s *Backend) Sessions(ctx context.Context, id uuid.UUID, limit int) ([]sessionstore.SessionRow, error) {
	var out []sessionstore.SessionRow
	obj, err := s.Load(ctx, id)
	if err != nil || obj == nil {
		return nil, err
	}
	out = append(out, obj.Session())
	rows, err := s.db.QueryContext(ctx, `SELECT `+s.sessionColumns+`
	FROM sessions WHERE cid = ? ORDER BY started DESC LIMIT ?`, id[:], limit-1)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		r.ClientID = id
		out = append(out, r)
	}
	return out, rows.Err()
}

// Erase implements sessionstore.Eraser: object, session rows, bindings and
// tombstone in one transaction, refused like Save when the file is no
// longer at its path.
func (s *Backend) Erase(ctx context.Context, id uuid.UUID, until time.Time) (bool, error) {
	if err := s.stillThere(); err != nil {
		return false, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM clients WHERE cid = ?`, id[:])
	if err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE cid = ?`, id[:]); err != nil {
		return false, err
	}
	if err := eraseBindings(ctx, tx, id); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO tombstones (cid, until) VALUES (?, ?)
	ON CONFLICT (cid) DO UPDATE SET until = excluded.until`, id[:], until.UnixMilli()); err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, tx.Commit()
}

// Tombstones implements sessionstore.Eraser.
func (s *Backend) Tombstones(ctx context.Context, now time.Time) (map[uuid.UUID]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT cid, until FROM tombstones WHERE until > ?`, now.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[uuid.UUID]time.Time{}
	for rows.Next() {
		var cid []byte
		var until int64
		if err := rows.Scan(&cid, &until); err != nil {
			return nil, err
		}
		if id, err := uuid.FromBytes(cid); err == nil {
			out[id] = time.UnixMilli(until)
		}
	}
	return out, rows.Err()
}

// ClientsOf implements sessionstore.UserFinder: the clients bound to the
// user now, those with a stored session of the user, and those with a
// binding to the user that a later one replaced.
func (s *Backend) ClientsOf(ctx context.Context, userID string) ([]uuid.UUID, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT cid FROM clients WHERE user_id = ?1
	UNION SELECT cid FROM sessions WHERE user_id = ?1
	UNION SELECT cid FROM bindings WHERE user_id = ?1`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []uuid.UUID
	for rows.Next() {
		var cid []byte
		if err := rows.Scan(&cid); err != nil {
			return nil, err
		}
		if id, err := uuid.FromBytes(cid); err == nil {
			ids = append(ids, id)
		}
	}
	return ids, rows.Err()
}

// Count implements sessionstore.Counter.
func (s *Backend) Count(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM clients`).Scan(&n)
	return n, err
}

// Sweep implements sessionstore.Sweeper.
func (s *Backend) Sweep(ctx context.Context, idleBefore, now time.Time, limit int) (int, error) {
	cutoff := idleBefore.UnixMilli()
	clients, err := s.db.ExecContext(ctx, sqlSweepClients, cutoff, limit)
	if err != nil {
		return 0, err
	}
	sessions, err := s.db.ExecContext(ctx, sqlSweepSessions, cutoff, limit)
	if err != nil {
		return 0, err
	}
	bindings, err := s.db.ExecContext(ctx, sqlSweepBindings, cutoff, limit)
	if err != nil {
		return 0, err
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM tombstones WHERE until <= ?`, now.UnixMilli()); err != nil {
		return 0, err
	}
	if err := s.sweepDays(ctx, idleBefore); err != nil {
		return 0, err
	}
	c, _ := clients.RowsAffected()
	r, _ := sessions.RowsAffected()
	b, _ := bindings.RowsAffected()
	return int(max(c, r, b)), nil
}

// stillThere checks that the path still names the file that was opened.
func (s *Backend) stillThere() error {
	now, err := os.Stat(s.path)
	if err != nil || !os.SameFile(s.file, now) {
		s.lost.Store(true)
		return fmt.Errorf("%w: %s was removed or replaced", sessionstore.ErrBackendLost, s.path)
	}
	return nil
}

// Replaced implements sessionstore.Replaceable.
func (s *Backend) Replaced() bool { return s.stillThere() != nil }

// setAsideJournal moves the write-ahead log of a lost file out of the way
// (renamed, never deleted): SQLite would otherwise replay it into whatever
// file is now at the path, such as a restored backup. The shared-memory
// index is rebuilt by SQLite and can go.
func (s *Backend) setAsideJournal() error {
	wal := s.path + "-wal"
	if _, err := os.Stat(wal); err == nil {
		if err := os.Rename(wal, fmt.Sprintf("%s.orphaned-%d", wal, time.Now().Unix())); err != nil {
			return err
		}
	}
	if err := os.Remove(s.path + "-shm"); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// Close implements sessionstore.WriteBehind.
func (s *Backend) Close() error {
	for _, stmt := range []*sql.Stmt{s.load, s.upsertClient, s.upsertSession, s.upsertBinding, s.extendBindings} {
		if stmt != nil {
			stmt.Close()
		}
	}
	err := s.db.Close()
	if s.lost.Load() {
		err = errors.Join(err, s.setAsideJournal())
	}
	return errors.Join(err, s.unlock())
}

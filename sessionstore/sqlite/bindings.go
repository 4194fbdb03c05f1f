package sqlite

import (
	"context"
	"database/sql"

	"github.com/google/uuid"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// A client row names only the user it was bound to last, and a session row
// the user it had when it ended, so a browser that logged in as A and then
// as B in one session would lead erasure by user from A nowhere. The
// bindings table keeps every login apart: one row per client and user,
// last_seen being the login or, once the session it was made in has ended,
// that session's end. It is swept with the same retention as session rows,
// so a binding lasts as long as the session it belongs to.
const (
	sqlBindingsTable = `CREATE TABLE IF NOT EXISTS bindings (
	user_id   TEXT NOT NULL,
	cid       BLOB NOT NULL,
	last_seen INTEGER NOT NULL,
	PRIMARY KEY (user_id, cid)
) WITHOUT ROWID`
	sqlBindingsByClient   = `CREATE INDEX IF NOT EXISTS bindings_cid ON bindings (cid, last_seen)`
	sqlBindingsByLastSeen = `CREATE INDEX IF NOT EXISTS bindings_last_seen ON bindings (last_seen)`
	// A file from before the table gets its clients' current bindings.
	sqlBindingsFromClients = `INSERT OR IGNORE INTO bindings (user_id, cid, last_seen)
	SELECT user_id, cid, last_seen FROM clients WHERE user_id != ''`

	sqlUpsertBinding = `INSERT INTO bindings (user_id, cid, last_seen) VALUES (?, ?, ?)
	ON CONFLICT (user_id, cid) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)`
	// An ended session keeps the bindings made during it as long as its row.
	sqlExtendBindings = `UPDATE bindings SET last_seen = ?3 WHERE cid = ?1 AND last_seen >= ?2 AND last_seen < ?3`
	sqlSweepBindings  = `DELETE FROM bindings WHERE (user_id, cid) IN
	(SELECT user_id, cid FROM bindings WHERE last_seen < ? LIMIT ?)`
)

// addBindingsTable gives a file the bindings table, filled from its
// clients when the table is new, in one transaction. It runs after the
// clients' user_id column exists.
func addBindingsTable(db *sql.DB) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'bindings'`).Scan(&n); err != nil {
		return err
	}
	stmts := []string{sqlBindingsTable, sqlBindingsByClient, sqlBindingsByLastSeen}
	if n == 0 {
		stmts = append(stmts, sqlBindingsFromClients)
	}
	for _, stmt := range stmts {
		if _, err := tx.Exec(stmt); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// saveBindings writes a batch's bindings with upsert, then lets the
// sessions that ended in it keep, with extend, the bindings made during
// them.
func saveBindings(ctx context.Context, upsert, extend *sql.Stmt, b sessionstore.Batch) error {
	row := rowContext(ctx)
	for _, bound := range b.Bindings {
		if _, err := upsert.ExecContext(row, bound.UserID, bound.ClientID[:], bound.At.UnixMilli()); err != nil {
			return err
		}
	}
	for _, r := range b.Sessions {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := extend.ExecContext(row, r.ClientID[:], r.Started.UnixMilli(), r.LastSeen.UnixMilli()); err != nil {
			return err
		}
	}
	return nil
}

// eraseBindings removes a client's bindings, inside its erasure.
func eraseBindings(ctx context.Context, tx *sql.Tx, id uuid.UUID) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM bindings WHERE cid = ?`, id[:])
	return err
}

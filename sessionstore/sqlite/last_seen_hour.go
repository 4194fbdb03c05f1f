package sqlite

import "database/sql"

// Garbage collection finds idle clients through an index. Indexing
// last_seen itself made every write, one per returning visitor and flush
// interval, move the client's index entry: a quarter of the cost of the
// row. The index is on the hour of last_seen instead, kept by a trigger
// that fires only when a write moves a client into another hour, i.e.
// about once per visit rather than once per request. The sweep still
// compares the exact last_seen, so a row whose hour is behind (written by
// an earlier version) is never deleted early, only looked at again.
const (
	sqlLastSeenHourIndex   = `CREATE INDEX IF NOT EXISTS clients_last_seen_hour ON clients (last_seen_hour)`
	sqlLastSeenHourTrigger = `CREATE TRIGGER IF NOT EXISTS clients_last_seen_hour AFTER UPDATE OF last_seen ON clients
	WHEN new.last_seen / 3600000 <> new.last_seen_hour
	BEGIN UPDATE clients SET last_seen_hour = new.last_seen / 3600000 WHERE cid = new.cid; END`
)

// indexLastSeenHour gives a file the last_seen_hour column (filled from
// last_seen in a file from before it), its index and its trigger, and
// drops the index on last_seen that it replaces.
func indexLastSeenHour(db *sql.DB) error {
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pragma_table_info('clients') WHERE name = 'last_seen_hour'`).Scan(&n); err != nil {
		return err
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var stmts []string
	if n == 0 {
		stmts = append(stmts, `ALTER TABLE clients ADD COLUMN last_seen_hour INTEGER NOT NULL DEFAULT 0`,
			`UPDATE clients SET last_seen_hour = last_seen / 3600000`)
	}
	stmts = append(stmts, `DROP INDEX IF EXISTS clients_last_seen`, sqlLastSeenHourIndex, sqlLastSeenHourTrigger)
	for _, stmt := range stmts {
		if _, err := tx.Exec(stmt); err != nil {
			return err
		}
	}
	return tx.Commit()
}

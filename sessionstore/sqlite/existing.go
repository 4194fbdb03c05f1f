package sqlite

import (
	"database/sql"
	"fmt"
)

// The command line works on a file that must already be a session
// database: a --db that names another application's SQLite file is refused
// before anything is written into it or beside it.

// CheckDatabase reads, without writing, whether path is an existing
// session database: the check to make before Open when the file must
// not be created or given the session tables.
func CheckDatabase(path string) error {
	db, err := OpenReadOnly(path)
	if err != nil {
		return err
	}
	return db.Close()
}

// requireSessionTables refuses a database that lacks the tables the
// command line reads and writes.
func requireSessionTables(db *sql.DB, path string) error {
	var n int
	err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('clients', 'tombstones')`).Scan(&n)
	if err != nil {
		return fmt.Errorf("%s is not a session database: %w", path, err)
	}
	if n != 2 {
		return fmt.Errorf("%s is not a session database: it has no clients and tombstones tables", path)
	}
	return nil
}

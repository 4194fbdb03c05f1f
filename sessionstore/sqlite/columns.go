package sqlite

import (
	"database/sql"
	"strings"
)

// Files written before sessions kept their utm values lack these columns of
// the sessions table: opening such a file for writing adds them (rows of
// then have none), and reading one without writing selects ” for them.
var attributionColumns = [...]string{"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "click_id_param"}

// addAttributionColumns gives a file of the earlier schema the columns, all
// in one transaction.
func addAttributionColumns(db *sql.DB) error {
	has, err := hasAttributionColumns(db)
	if err != nil || has {
		return err
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, c := range attributionColumns {
		if _, err := tx.Exec(`ALTER TABLE sessions ADD COLUMN ` + c + ` TEXT NOT NULL DEFAULT ''`); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// hasAttributionColumns reports whether the sessions table has the columns:
// all of them or none, as addAttributionColumns adds them.
func hasAttributionColumns(db *sql.DB) (bool, error) {
	var n int
	err := db.QueryRow(`SELECT count(*) FROM pragma_table_info('sessions') WHERE name = 'click_id_param'`).Scan(&n)
	return n == 1, err
}

// Files written before clients could be bound to a user lack the user_id
// column of clients and sessions: opening such a file for writing adds
// both (rows of then have none) and their indexes, and reading one without
// writing selects ” for the sessions' (the clients' user is in their
// state too).
func addUserColumns(db *sql.DB) error {
	has, err := hasUserColumns(db)
	if err != nil {
		return err
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var stmts []string
	if !has {
		stmts = []string{`ALTER TABLE clients ADD COLUMN user_id TEXT NOT NULL DEFAULT ''`,
			`ALTER TABLE sessions ADD COLUMN user_id TEXT NOT NULL DEFAULT ''`}
	}
	// Only bound rows are indexed: most clients never log in.
	stmts = append(stmts, `CREATE INDEX IF NOT EXISTS clients_user_id ON clients (user_id) WHERE user_id != ''`,
		`CREATE INDEX IF NOT EXISTS sessions_user_id ON sessions (user_id) WHERE user_id != ''`)
	for _, stmt := range stmts {
		if _, err := tx.Exec(stmt); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// hasUserColumns reports whether the tables have the user_id columns: both
// or neither, as addUserColumns adds them.
func hasUserColumns(db *sql.DB) (bool, error) {
	var n int
	err := db.QueryRow(`SELECT count(*) FROM pragma_table_info('sessions') WHERE name = 'user_id'`).Scan(&n)
	return n == 1, err
}

// sessionColumns is the select list that scanSession reads.
func sessionColumns(withAttribution, withUser bool) string {
	attribution := strings.Join(attributionColumns[:], ", ")
	if !withAttribution {
		attribution = strings.TrimSuffix(strings.Repeat("'', ", len(attributionColumns)), ", ")
	}
	user := "user_id"
	if !withUser {
		user = "''"
	}
	return "sid, started, last_seen, events, landing_path, referrer_origin, " + attribution + ", " + user
}

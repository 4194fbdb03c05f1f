package sqlite

import (
	"database/sql"
	"strings"
)

// addedColumns are the columns of the sessions table added after its first
// schema (the utm values, then the geo, then the user). Opening a file that
// lacks some for writing adds them (rows of then have none); reading one
// without writing selects ” for them.
var addedColumns = [...]string{
	"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "click_id_param",
	"country", "continent", "region", "city", "user_id",
}

// addMissingColumns gives a file of an earlier schema the columns it lacks,
// all in one transaction.
func addMissingColumns(db *sql.DB) error {
	missing, err := missingColumns(db)
	if err != nil || len(missing) == 0 {
		return err
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, c := range addedColumns {
		if !missing[c] {
			continue
		}
		if _, err := tx.Exec(`ALTER TABLE sessions ADD COLUMN ` + c + ` TEXT NOT NULL DEFAULT ''`); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// missingColumns is the set of addedColumns the sessions table lacks.
func missingColumns(db *sql.DB) (map[string]bool, error) {
	rows, err := db.Query(`SELECT name FROM pragma_table_info('sessions')`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	missing := map[string]bool{}
	for _, c := range addedColumns {
		missing[c] = true
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		delete(missing, name)
	}
	return missing, rows.Err()
}

// sessionColumns is the select list that scanSession reads, with ” for
// each missing column.
func sessionColumns(missing map[string]bool) string {
	cols := make([]string, len(addedColumns))
	for i, c := range addedColumns {
		cols[i] = c
		if missing[c] {
			cols[i] = "''"
		}
	}
	return "sid, started, last_seen, events, landing_path, referrer_origin, " + strings.Join(cols, ", ")
}

// addClientUserColumn gives a file from before clients were bound to users
// the user_id column of clients (their user is in their state too; the
// column is for erasure by user), and both user_id columns their indexes.
func addClientUserColumn(db *sql.DB) error {
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pragma_table_info('clients') WHERE name = 'user_id'`).Scan(&n); err != nil {
		return err
	}
	var stmts []string
	if n == 0 {
		stmts = append(stmts, `ALTER TABLE clients ADD COLUMN user_id TEXT NOT NULL DEFAULT ''`)
	}
	// Only bound rows are indexed: most clients never log in.
	stmts = append(stmts, `CREATE INDEX IF NOT EXISTS clients_user_id ON clients (user_id) WHERE user_id != ''`,
		`CREATE INDEX IF NOT EXISTS sessions_user_id ON sessions (user_id) WHERE user_id != ''`)
	for _, stmt := range stmts {
		if _, err := db.Exec(stmt); err != nil {
			return err
		}
	}
	return nil
}

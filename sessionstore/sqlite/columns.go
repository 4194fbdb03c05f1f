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

// sessionColumns is the select list that scanSession reads.
func sessionColumns(withAttribution bool) string {
	attribution := strings.Join(attributionColumns[:], ", ")
	if !withAttribution {
		attribution = strings.TrimSuffix(strings.Repeat("'', ", len(attributionColumns)), ", ")
	}
	return "sid, started, last_seen, events, landing_path, referrer_origin, " + attribution
}

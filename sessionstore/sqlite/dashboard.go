package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// The dashboard's aggregates: one row per site and UTC day with its counts,
// and the values of its top tables. sessionstore bounds both per day
// (MaxSites, MaxTopKeys); the garbage collection deletes days past the
// retention.
const dashboardSchema = `
CREATE TABLE IF NOT EXISTS dashboard_days (
	day    INTEGER NOT NULL, -- Unix seconds of the UTC midnight
	site   TEXT NOT NULL,
	counts TEXT NOT NULL,    -- sessionstore.DayCounts as JSON
	PRIMARY KEY (day, site)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dashboard_top (
	day   INTEGER NOT NULL,
	site  TEXT NOT NULL,
	tbl   INTEGER NOT NULL, -- index into sessionstore.Day.Top
	value TEXT NOT NULL,
	n     INTEGER NOT NULL,
	PRIMARY KEY (day, site, tbl, value)
) WITHOUT ROWID;
`

const (
	sqlUpsertDay = `INSERT INTO dashboard_days (day, site, counts) VALUES (?, ?, ?)
	ON CONFLICT (day, site) DO UPDATE SET counts = excluded.counts`
	sqlUpsertTop = `INSERT INTO dashboard_top (day, site, tbl, value, n) VALUES (?, ?, ?, ?, ?)
	ON CONFLICT (day, site, tbl, value) DO UPDATE SET n = excluded.n`
	sqlDayCounts = `SELECT day, counts FROM dashboard_days WHERE site = ? AND day BETWEEN ? AND ? ORDER BY day`
	sqlDayTop    = `SELECT day, tbl, value, n FROM dashboard_top WHERE site = ? AND day BETWEEN ? AND ?`
)

// AddDays implements sessionstore.Aggregator: one transaction, each day
// read, added to in Go (sessionstore.Day.Add keeps the bounds) and written
// back. Days are kept until the garbage collection (Sweep) deletes them.
func (s *Backend) AddDays(ctx context.Context, changes []sessionstore.DayChange, _ time.Duration) error {
	if err := s.stillThere(); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for i := range changes {
		if err := addDay(ctx, tx, &changes[i].Day); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func addDay(ctx context.Context, tx *sql.Tx, change *sessionstore.Day) error {
	site, err := admittedSite(ctx, tx, change.Site, change.Date)
	if err != nil {
		return err
	}
	stored, err := readDays(ctx, tx, site, change.Date, change.Date)
	if err != nil {
		return err
	}
	day := sessionstore.Day{Site: site, Date: change.Date}
	if len(stored) == 1 {
		day = stored[0]
	}
	day.Add(change)
	counts, _ := json.Marshal(day.DayCounts)
	if _, err := tx.ExecContext(ctx, sqlUpsertDay, day.Date.Unix(), site, counts); err != nil {
		return err
	}
	for t := range change.Top {
		for value := range change.Top[t] {
			if err := writeTop(ctx, tx, &day, t, value); err != nil {
				return err
			}
		}
		if err := writeTop(ctx, tx, &day, t, sessionstore.OtherKey); err != nil {
			return err
		}
	}
	return nil
}

// writeTop writes the stored count of one value of a top table, when the
// table kept it.
func writeTop(ctx context.Context, tx *sql.Tx, day *sessionstore.Day, table int, value string) error {
	n, kept := day.Top[table][value]
	if !kept {
		return nil
	}
	_, err := tx.ExecContext(ctx, sqlUpsertTop, day.Date.Unix(), day.Site, table, value, n)
	return err
}

// admittedSite is the site a change is stored under: itself when the day
// has it or room for it, OtherSite otherwise.
func admittedSite(ctx context.Context, tx *sql.Tx, site string, date time.Time) (string, error) {
	if site == sessionstore.OtherSite {
		return site, nil
	}
	var sites int
	var known bool
	err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(max(site = ?), 0) FROM dashboard_days
	WHERE day = ? AND site != ?`, site, date.Unix(), sessionstore.OtherSite).Scan(&sites, &known)
	if err != nil || known || sites < sessionstore.MaxSites {
		return site, err
	}
	return sessionstore.OtherSite, nil
}

// querier is what readDays needs of a database or transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Days implements sessionstore.Aggregator.
func (s *Backend) Days(ctx context.Context, site string, from, to time.Time) ([]sessionstore.Day, error) {
	return readDays(ctx, s.db, site, from, to)
}

func readDays(ctx context.Context, q querier, site string, from, to time.Time) ([]sessionstore.Day, error) {
	rows, err := q.QueryContext(ctx, sqlDayCounts, site, from.Unix(), to.Unix())
	if err != nil {
		return nil, err
	}
	var days []sessionstore.Day
	index := map[int64]int{}
	for rows.Next() {
		var day int64
		var counts []byte
		if err := rows.Scan(&day, &counts); err != nil {
			rows.Close()
			return nil, err
		}
		d := sessionstore.Day{Site: site, Date: time.Unix(day, 0).UTC()}
		if err := json.Unmarshal(counts, &d.DayCounts); err != nil {
			rows.Close()
			return nil, errors.Join(errors.New("dashboard day of "+site), err)
		}
		index[day] = len(days)
		days = append(days, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return days, readTop(ctx, q, site, from, to, days, index)
}

func readTop(ctx context.Context, q querier, site string, from, to time.Time, days []sessionstore.Day, index map[int64]int) error {
	rows, err := q.QueryContext(ctx, sqlDayTop, site, from.Unix(), to.Unix())
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var day, n int64
		var table int
		var value string
		if err := rows.Scan(&day, &table, &value, &n); err != nil {
			return err
		}
		i, ok := index[day]
		if !ok || table < 0 || table >= sessionstore.TopTables {
			continue // a top row without its day, or of a table this version lacks
		}
		if days[i].Top[table] == nil {
			days[i].Top[table] = map[string]int64{}
		}
		days[i].Top[table][value] = n
	}
	return rows.Err()
}

// Sites implements sessionstore.Aggregator.
func (s *Backend) Sites(ctx context.Context, from, to time.Time) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT site FROM dashboard_days WHERE day BETWEEN ? AND ? ORDER BY site`,
		from.Unix(), to.Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var sites []string
	for rows.Next() {
		var site string
		if err := rows.Scan(&site); err != nil {
			return nil, err
		}
		sites = append(sites, site)
	}
	return sites, rows.Err()
}

// sweepDays deletes the days that ended before idleBefore.
func (s *Backend) sweepDays(ctx context.Context, idleBefore time.Time) error {
	lastStart := idleBefore.Add(-24 * time.Hour).Unix()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM dashboard_days WHERE day <= ?`, lastStart); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `DELETE FROM dashboard_top WHERE day <= ?`, lastStart)
	return err
}

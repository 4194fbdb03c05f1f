package sqlite

import (
	"context"
	"time"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

// Admitted implements sessionstore.Aggregator: the day's sites, then the
// values of each table that holds more than known counts.
func (s *Backend) Admitted(ctx context.Context, day time.Time, known map[string][sessionstore.TopTables]int) (map[string][sessionstore.TopTables][]string, error) {
	names := map[string][sessionstore.TopTables][]string{}
	err := eachRow(ctx, s, `SELECT site FROM dashboard_days WHERE day = ? AND site != ?`,
		[]any{day.Unix(), sessionstore.OtherSite}, func(scan func(...any) error) error {
			var site string
			err := scan(&site)
			if _, ok := known[site]; !ok {
				names[site] = [sessionstore.TopTables][]string{}
			}
			return err
		})
	if err != nil {
		return nil, err
	}
	type table struct {
		site string
		tbl  int
	}
	var grown []table
	err = eachRow(ctx, s, `SELECT site, tbl, count(*) FROM dashboard_top WHERE day = ? AND site != ? AND value != ? GROUP BY site, tbl`,
		[]any{day.Unix(), sessionstore.OtherSite, sessionstore.OtherKey}, func(scan func(...any) error) error {
			var t table
			var n int
			err := scan(&t.site, &t.tbl, &n)
			if t.tbl >= 0 && t.tbl < sessionstore.TopTables && n > known[t.site][t.tbl] {
				grown = append(grown, t)
			}
			return err
		})
	for _, t := range grown {
		if err != nil {
			break
		}
		values := names[t.site]
		err = eachRow(ctx, s, `SELECT value FROM dashboard_top WHERE day = ? AND site = ? AND tbl = ? AND value != ?`,
			[]any{day.Unix(), t.site, t.tbl, sessionstore.OtherKey}, func(scan func(...any) error) error {
				var v string
				err := scan(&v)
				values[t.tbl] = append(values[t.tbl], v)
				return err
			})
		names[t.site] = values
	}
	return names, err
}

// eachRow runs the query and calls row for each row with its Scan.
func eachRow(ctx context.Context, s *Backend, query string, args []any, row func(scan func(...any) error) error) error {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

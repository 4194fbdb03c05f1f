package caddymodule_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// duckDB runs SQL in a real DuckDB: @duckdb/node-api, installed by
// `npm ci` in testdata/duckdb, driven by node.
type duckDB struct{ dir string }

func newDuckDB(t *testing.T) duckDB {
	t.Helper()
	noteSkip(t)
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed (apt-get install nodejs npm); DuckDB runs through it")
	}
	dir, err := filepath.Abs(filepath.Join("testdata", "duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api")); err != nil {
		t.Skip("@duckdb/node-api is not installed: run `npm ci` in caddymodule/testdata/duckdb")
	}
	return duckDB{dir: dir}
}

// row runs a query that answers one row and returns its values as text.
func (d duckDB) row(t *testing.T, sql string) map[string]string {
	t.Helper()
	cmd := exec.Command("node", "query.mjs", sql)
	cmd.Dir = d.dir
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if exit, ok := err.(*exec.ExitError); ok {
			stderr = exit.Stderr
		}
		t.Fatalf("DuckDB: %v\n%s\nquery: %s", err, stderr, sql)
	}
	var rows []map[string]any
	if err := json.Unmarshal(out, &rows); err != nil || len(rows) != 1 {
		t.Fatalf("DuckDB answered %s (%v), want one row", out, err)
	}
	text := map[string]string{}
	for k, v := range rows[0] {
		text[k] = fmt.Sprint(v)
	}
	return text
}

func TestExportLoadsIntoDuckDBWithTypedColumns(t *testing.T) {
	duck := newDuckDB(t)
	s := startSite(t, "persist_new_clients immediately")
	a, b := newBrowser(t), newBrowser(t)
	b.ua += " (another browser)"
	a.get("/landing", "Referer", "https://ref.example/path")
	a.get("/")
	a.get("/")
	b.get("/") // no referrer: absent in the export
	b.get("/")
	s.load("persist_new_clients immediately\n\t\tsession_timeout 31m") // a reload flushes the queue
	bin := caddyBinary(t)
	export := func(what string) string {
		path, _ := exportFile(t, bin, s.dbPath(), what, "jsonl")
		return path
	}

	checkRow(t, "clients", duck.row(t, fmt.Sprintf(`SELECT count(*) AS n, typeof(total_events) AS total_type,
		typeof(session_number) AS number_type, typeof(first_seen) AS time_type, sum(total_events) AS total
		FROM read_json_auto('%s') GROUP BY ALL`, export("clients"))), map[string]string{
		"n": "2", "total_type": "BIGINT", "number_type": "BIGINT", "time_type": "TIMESTAMP", "total": "5",
	})
	checkRow(t, "sessions", duck.row(t, fmt.Sprintf(`SELECT count(*) AS n, typeof(events) AS events_type,
		typeof(started) AS time_type, sum(events) AS events, count(*) FILTER (WHERE referrer_origin IS NULL) AS no_referrer,
		count(*) FILTER (WHERE referrer_origin = 'https://ref.example') AS referred
		FROM read_json_auto('%s') GROUP BY ALL`, export("sessions"))), map[string]string{
		"n": "2", "events_type": "BIGINT", "time_type": "TIMESTAMP", "events": "5", "no_referrer": "1", "referred": "1",
	})
}

// exportFormats are the export formats and the DuckDB function that reads
// each.
var exportFormats = []struct{ flag, reader string }{{"jsonl", "read_json_auto"}, {"csv", "read_csv_auto"}}

// exportFile runs the built binary's `session export` of what in format on
// db, writes the export to a file of the test's and returns its path and
// the export.
func exportFile(t *testing.T, bin, db, what, format string) (string, []byte) {
	t.Helper()
	out, err := exec.Command(bin, "session", "export", "--what", what, "--format", format, "--db", db).Output()
	if err != nil {
		t.Fatalf("export %s %s: %v", what, format, err)
	}
	path := filepath.Join(t.TempDir(), what+"."+format)
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, out
}

func checkRow(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s export in DuckDB: %s = %q, want %q (row %v)", what, k, got[k], v, got)
		}
	}
}

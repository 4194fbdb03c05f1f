package caddymodule_test

import (
	"bytes"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// A --db that names some other application's SQLite file must be refused
// before anything is written into it or beside it: no session tables, no
// journal mode change, no lock file.
func TestSessionCommandsRefuseAForeignDatabase(t *testing.T) {
	bin := caddyBinary(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "app.db")
	foreignDatabase(t, path)
	before, schema := fileState(t, dir), readSchema(t, path)

	const cid = "01a21c0d-f737-72b1-a48b-6f0c6908e947"
	want := path + " is not a session database"
	for _, args := range [][]string{{"erase", cid}, {"inspect", cid}, {"stats"}, {"export"}} {
		out, err := exec.Command(bin, append([]string{"session"}, append(args, "--db", path)...)...).CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || !strings.Contains(string(out), want) {
			t.Errorf("session %s on a foreign database: %v, want a failure saying %q\n%s", args[0], err, want, out)
		}
	}
	if after := readSchema(t, path); !slices.Equal(after, schema) {
		t.Errorf("the foreign file's schema changed:\nbefore %q\nafter  %q", schema, after)
	}
	if after := fileState(t, dir); !slices.EqualFunc(after, before, func(a, b dirEntry) bool { return a.name == b.name && bytes.Equal(a.data, b.data) }) {
		t.Errorf("the directory of the foreign file changed: before %v, after %v", names(before), names(after))
	}
}

func foreignDatabase(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)`, `INSERT INTO notes (body) VALUES ('keep me')`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

func readSchema(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT sql FROM sqlite_master ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s sql.NullString
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s.String)
	}
	return out
}

type dirEntry struct {
	name string
	data []byte
}

// fileState is every file in dir with its bytes.
func fileState(t *testing.T, dir string) []dirEntry {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []dirEntry
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, dirEntry{e.Name(), data})
	}
	return out
}

func names(entries []dirEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.name)
	}
	return out
}

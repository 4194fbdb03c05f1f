package caddymodule

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/c0f4626f/caddy-session/sessionstore"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "session",
		Usage: "stats|export|inspect|erase [--db <file>]",
		Short: "Reads and erases visitor data in a session SQLite database",
		Long: `
Works on the SQLite file directly. stats, export and inspect only read and
are safe beside a running Caddy; erase needs the file to itself and refuses
while a running Caddy holds it (use the admin API then:
DELETE /session/clients/<cID>).`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.PersistentFlags().String("db", filepath.Join(caddy.AppDataDir(), "session", "sessions.db"), "database file")
			cmd.AddCommand(statsCommand(), exportCommand(), inspectCommand(), eraseCommand())
		},
	})
}

func statsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "stats",
		Short: "Counts clients, sessions, events and tombstones",
		Args:  cobra.NoArgs,
		RunE: withReadOnly(func(cmd *cobra.Command, db *sessionstore.SQLite, _ []string) error {
			st, err := db.FileStats(cmd.Context())
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), st)
		}),
	}
}

func inspectCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "inspect <cID>",
		Short: "Shows a client's object and recent sessions",
		Args:  cobra.ExactArgs(1),
		RunE: withReadOnly(func(cmd *cobra.Command, db *sessionstore.SQLite, args []string) error {
			id, err := uuid.Parse(args[0])
			if err != nil {
				return fmt.Errorf("malformed client ID: %w", err)
			}
			obj, err := db.Load(cmd.Context(), id)
			if err != nil {
				return err
			}
			if obj == nil {
				return fmt.Errorf("unknown client %s", id)
			}
			rows, err := db.Sessions(cmd.Context(), id, 20)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), newClientView(cmd.Flag("db").Value.String(), obj, rows))
		}),
	}
}

func eraseCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "erase <cID>",
		Short: "Removes a client and its sessions and tombstones its ID",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := uuid.Parse(args[0])
			if err != nil {
				return fmt.Errorf("malformed client ID: %w", err)
			}
			path := cmd.Flag("db").Value.String()
			db, err := sessionstore.OpenSQLite(path, sessionstore.SQLiteOptions{})
			if err != nil {
				return fmt.Errorf("%w\nif Caddy is running, erase through its admin API: curl -X DELETE http://localhost:2019/session/clients/%s", err, id)
			}
			defer db.Close()
			found, err := db.Erase(cmd.Context(), id, time.Now().Add(tombstoneFor))
			if err != nil {
				return err
			}
			if !found {
				return fmt.Errorf("unknown client %s (its ID is tombstoned anyway)", id)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "erased %s\n", id)
			return nil
		},
	}
}

func exportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Writes clients or sessions as CSV or JSON lines to stdout",
		Args:  cobra.NoArgs,
		RunE: withReadOnly(func(cmd *cobra.Command, db *sessionstore.SQLite, _ []string) error {
			since, err := parseSince(cmd.Flag("since").Value.String(), time.Now())
			if err != nil {
				return err
			}
			w, err := newRecordWriter(cmd.OutOrStdout(), cmd.Flag("format").Value.String())
			if err != nil {
				return err
			}
			switch what := cmd.Flag("what").Value.String(); what {
			case "clients":
				err = db.EachClient(cmd.Context(), since, func(o sessionstore.Object) error { return w.write(clientRecord(o)) })
			case "sessions":
				err = db.EachSession(cmd.Context(), since, func(r sessionstore.SessionRow) error { return w.write(sessionRecord(r)) })
			default:
				return fmt.Errorf("--what must be clients or sessions, not %q", what)
			}
			if err != nil {
				return err
			}
			return w.flush()
		}),
	}
	cmd.Flags().String("what", "sessions", "clients or sessions")
	cmd.Flags().String("format", "csv", "csv or jsonl")
	cmd.Flags().String("since", "", "only rows last seen since: a duration ago (24h, 7d) or an RFC 3339 time")
	return cmd
}

// withReadOnly opens the --db file read-only around f.
func withReadOnly(f func(*cobra.Command, *sessionstore.SQLite, []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		db, err := sessionstore.OpenSQLiteReadOnly(cmd.Flag("db").Value.String())
		if err != nil {
			return err
		}
		defer db.Close()
		if cmd.Context() == nil {
			cmd.SetContext(context.Background())
		}
		return f(cmd, db, args)
	}
}

// parseSince reads --since: empty (everything), a duration ago, or a time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := caddy.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--since %q: want a duration (24h, 7d) or an RFC 3339 time", s)
	}
	return t, nil
}

// record is one exported row: ordered column names and values.
type record struct {
	names  []string
	values []string
}

func clientRecord(o sessionstore.Object) record {
	return record{
		names: []string{"client_id", "first_seen", "last_seen", "session_id", "session_started",
			"session_number", "event_number", "total_events", "last_event_id"},
		values: []string{o.ClientID.String(), stamp(o.FirstSeen), stamp(o.LastSeen), o.SessionID.String(),
			stamp(o.SessionStarted), itoa(o.SessionNumber), itoa(o.EventNumber), itoa(o.TotalEvents), o.LastEventID.String()},
	}
}

func sessionRecord(r sessionstore.SessionRow) record {
	return record{
		names: []string{"session_id", "client_id", "started", "last_seen", "events", "landing_path", "referrer_origin"},
		values: []string{r.SessionID.String(), r.ClientID.String(), stamp(r.Started), stamp(r.LastSeen),
			itoa(r.Events), r.LandingPath, r.ReferrerOrigin},
	}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
func itoa(n int64) string      { return strconv.FormatInt(n, 10) }

// recordWriter writes records as CSV (with a header row) or JSON lines.
type recordWriter struct {
	csv    *csv.Writer
	json   *json.Encoder
	header bool
}

func newRecordWriter(w io.Writer, format string) (*recordWriter, error) {
	switch format {
	case "csv":
		return &recordWriter{csv: csv.NewWriter(w)}, nil
	case "jsonl":
		return &recordWriter{json: json.NewEncoder(w)}, nil
	}
	return nil, fmt.Errorf("--format must be csv or jsonl, not %q", format)
}

func (w *recordWriter) write(r record) error {
	if w.json != nil {
		m := make(map[string]string, len(r.names))
		for i, n := range r.names {
			m[n] = r.values[i]
		}
		return w.json.Encode(m)
	}
	if !w.header {
		w.header = true
		if err := w.csv.Write(r.names); err != nil {
			return err
		}
	}
	return w.csv.Write(r.values)
}

func (w *recordWriter) flush() error {
	if w.csv != nil {
		w.csv.Flush()
		return w.csv.Error()
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

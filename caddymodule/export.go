package caddymodule

import (
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/spf13/cobra"

	"github.com/c0f4626f/caddy-session/sessionstore"
	"github.com/c0f4626f/caddy-session/sessionstore/sqlite"
)

func exportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Writes clients or sessions as CSV or JSON lines to stdout",
		Args:  cobra.NoArgs,
		RunE: withReadOnly(func(cmd *cobra.Command, db *sqlite.Backend, _ []string) error {
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

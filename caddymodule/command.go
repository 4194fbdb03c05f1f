package caddymodule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/c0f4626f/caddy-session/sessionstore/sqlite"
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
		RunE: withReadOnly(func(cmd *cobra.Command, db *sqlite.Backend, _ []string) error {
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
		RunE: withReadOnly(func(cmd *cobra.Command, db *sqlite.Backend, args []string) error {
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
	cmd := &cobra.Command{
		Use:   "erase <cID>",
		Short: "Removes a client and its sessions and tombstones its ID",
		Long: `
Removes a client and its sessions from the --db file and tombstones its ID.
The file must be an existing session database (another SQLite file is
refused, untouched) and no running Caddy may hold it. If one does, the error
shows how to erase through that Caddy's admin API; its address is found as
'caddy reload' finds it: --address, else the admin address in --config (or
a Caddyfile in the current directory), else localhost:2019.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := uuid.Parse(args[0])
			if err != nil {
				return fmt.Errorf("malformed client ID: %w", err)
			}
			path := cmd.Flag("db").Value.String()
			if err := requireDatabase(path); err != nil {
				return err
			}
			if err := sqlite.CheckDatabase(path); err != nil {
				return err
			}
			db, err := sqlite.Open(path, sqlite.Options{})
			if err != nil {
				return fmt.Errorf("%w\nif Caddy is running, %s", err, adminEraseHint(cmd, id))
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
	cmd.Flags().StringP("config", "c", "", "Caddy config file to read the admin address from")
	cmd.Flags().StringP("adapter", "a", "", "name of the config adapter for --config")
	cmd.Flags().String("address", "", "admin address of the running Caddy, if not the one in its config")
	return cmd
}

// requireDatabase refuses a --db that is not an existing file, so that a
// mistyped path is reported instead of becoming a new, empty database.
func requireDatabase(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no session database at %s (give its path with --db)", path)
	}
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a session database file", path)
	}
	return nil
}

// withReadOnly opens the --db file read-only around f.
func withReadOnly(f func(*cobra.Command, *sqlite.Backend, []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		path := cmd.Flag("db").Value.String()
		if err := requireDatabase(path); err != nil {
			return err
		}
		db, err := sqlite.OpenReadOnly(path)
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

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

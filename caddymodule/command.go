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

	"github.com/c0f4626f/caddy-session/sessionstore"
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
DELETE /session/clients/<cID> or /session/users/<id>).`,
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
		Use:   "erase <cID> | --user <id>",
		Short: "Removes a client (or every client of a user) and its sessions and tombstones its ID",
		Long: `
Removes a client and its sessions from the --db file and tombstones its ID;
with --user, every client bound to that user ID (now or in a stored
session) instead, and prints how many. The file must be an existing session
database (another SQLite file is refused, untouched) and no running Caddy
may hold it. If one does, the error shows how to erase through that Caddy's
admin API; its address is found as 'caddy reload' finds it: --address, else
the admin address in --config (or a Caddyfile in the current directory),
else localhost:2019.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			target, err := eraseTargetOf(cmd, args)
			if err != nil {
				return err
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
				return fmt.Errorf("%w\nif Caddy is running, %s", err, adminEraseHint(cmd, target.adminPath()))
			}
			defer db.Close()
			return target.erase(cmd, db, time.Now().Add(tombstoneFor))
		},
	}
	cmd.Flags().String("user", "", "erase every client bound to this user ID instead of one client")
	cmd.Flags().StringP("config", "c", "", "Caddy config file to read the admin address from")
	cmd.Flags().StringP("adapter", "a", "", "name of the config adapter for --config")
	cmd.Flags().String("address", "", "admin address of the running Caddy, if not the one in its config")
	return cmd
}

// eraseTarget is what erase removes: one client, or every client of a user.
type eraseTarget struct {
	client uuid.UUID
	userID string // set for --user
}

// eraseTargetOf reads erase's argument or --user: exactly one of them.
func eraseTargetOf(cmd *cobra.Command, args []string) (eraseTarget, error) {
	userID := cmd.Flag("user").Value.String()
	switch {
	case cmd.Flag("user").Changed && len(args) == 0:
		if !sessionstore.ValidUserID(userID) {
			return eraseTarget{}, fmt.Errorf("--user: %w", sessionstore.ErrInvalidUserID)
		}
		return eraseTarget{userID: userID}, nil
	case cmd.Flag("user").Changed || len(args) != 1:
		return eraseTarget{}, errors.New("give either a client ID or --user <id>")
	}
	id, err := uuid.Parse(args[0])
	if err != nil {
		return eraseTarget{}, fmt.Errorf("malformed client ID: %w", err)
	}
	return eraseTarget{client: id}, nil
}

// adminPath is the admin API path that erases the target.
func (e eraseTarget) adminPath() string {
	if e.userID != "" {
		return userPath(e.userID)
	}
	return "/session/clients/" + e.client.String()
}

func (e eraseTarget) erase(cmd *cobra.Command, db *sqlite.Backend, until time.Time) error {
	ctx, out := cmd.Context(), cmd.OutOrStdout()
	if e.userID == "" {
		found, err := db.Erase(ctx, e.client, until)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("unknown client %s (its ID is tombstoned anyway)", e.client)
		}
		fmt.Fprintf(out, "erased %s\n", e.client)
		return nil
	}
	ids, err := db.ClientsOf(ctx, e.userID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := db.Erase(ctx, id, until); err != nil {
			return err
		}
		fmt.Fprintf(out, "erased %s\n", id)
	}
	fmt.Fprintf(out, "erased %d clients of user %q\n", len(ids), e.userID)
	return nil
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

//go:build !unix

package sqlite

// lockFile is a no-op where flock is not available: there, running two
// processes on one database is the operator's responsibility.
func lockFile(string) (func() error, error) { return func() error { return nil }, nil }

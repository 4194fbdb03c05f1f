//go:build !unix

package sessionstore

// lockFile is a no-op where flock is not available: there, running two
// processes on one database is the operator's responsibility.
func lockFile(string) (func() error, error) { return func() error { return nil }, nil }

package sessionstore_test

import (
	"testing"

	"github.com/c0f4626f/caddy-session/internal/storetest"

	. "github.com/c0f4626f/caddy-session/sessionstore"
)

func TestUserBindingAndErasureOnSQLite(t *testing.T) {
	s, _ := newSQLiteStore(t, Config{})
	storetest.ExpectUserBinding(t, s)
}

func TestEitherUserErasesABrowserOfTwoOnSQLite(t *testing.T) {
	s, _ := newSQLiteStore(t, Config{})
	storetest.ExpectEitherUserErasesABrowserOfTwo(t, s)
}

package sessionstore

import (
	"testing"

	"github.com/c0f4626f/caddy-session/internal/citest"
)

func TestMain(m *testing.M) { citest.Main(m) }

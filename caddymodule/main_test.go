package caddymodule_test

import (
	"testing"

	"github.com/c0f4626f/caddy-session/internal/citest"
)

func TestMain(m *testing.M) { citest.Main(m) }

// noteSkip marks t so that a skip fails the run under CI.
func noteSkip(t *testing.T) { citest.NoteSkip(t) }

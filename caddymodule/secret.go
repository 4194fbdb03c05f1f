package caddymodule

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

// minSecretLen is the shortest signing key accepted: 256 bits.
const minSecretLen = 32

// checkSecret checks the i-th signing key (counting from 0).
func checkSecret(i int, key string) error {
	if len(key) < minSecretLen {
		return fmt.Errorf("secret #%d is %d bytes; need at least %d", i+1, len(key), minSecretLen)
	}
	return nil
}

// secretStorageKey is where the generated key lives in Caddy's storage, so
// restarts keep everyone's identity and instances that share storage sign
// alike.
const secretStorageKey = "session/secret.key"

// loadKeys resolves the configured secrets or, without any, loads (or
// generates once) the key kept in Caddy's storage.
func (h *Handler) loadKeys(ctx caddy.Context) ([][]byte, error) {
	if len(h.Secrets) == 0 {
		key, err := storedSecret(ctx)
		if err != nil {
			return nil, fmt.Errorf("session signing key: %w", err)
		}
		return [][]byte{key}, nil
	}
	repl := caddy.NewReplacer()
	keys := make([][]byte, 0, len(h.Secrets))
	for i, s := range h.Secrets {
		key := repl.ReplaceAll(s, "")
		if err := checkSecret(i, key); err != nil {
			return nil, fmt.Errorf("%w (after placeholders)", err)
		}
		keys = append(keys, []byte(key))
	}
	return keys, nil
}

// storedSecret loads the generated key from storage, creating it under the
// storage lock when absent (checking again once the lock is held).
func storedSecret(ctx caddy.Context) ([]byte, error) {
	storage := ctx.Storage()
	if key, err := storage.Load(ctx, secretStorageKey); err == nil && len(key) >= minSecretLen {
		return key, nil
	}
	if err := storage.Lock(ctx, secretStorageKey); err != nil {
		return nil, err
	}
	defer storage.Unlock(context.WithoutCancel(ctx), secretStorageKey)
	key, err := storage.Load(ctx, secretStorageKey)
	if err == nil && len(key) >= minSecretLen {
		return key, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err == nil {
		// Never overwrite a key someone put there: it would log everyone out.
		return nil, fmt.Errorf("stored key %s is %d bytes; need at least %d", secretStorageKey, len(key), minSecretLen)
	}
	key = make([]byte, minSecretLen)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := storage.Store(ctx, secretStorageKey, key); err != nil {
		return nil, err
	}
	ctx.Logger().Info("generated cookie-signing key", zap.String("storage_key", secretStorageKey))
	return key, nil
}

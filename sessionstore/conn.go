package sessionstore

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

var errUnavailable = errors.New("store unavailable")

// conn holds the back end, opening it lazily: a back end that cannot open at
// start (a missing disk, a corrupt file) is retried at most once per
// reopenEvery, so the store recovers without a restart once the cause is
// fixed.
type conn struct {
	open    func() (Backend, error)
	current atomic.Pointer[backendRef]

	mu       sync.Mutex
	lastTry  time.Time
	lastErr  error
	isClosed bool
}

type backendRef struct{ Backend }

const reopenEvery = time.Second

// get returns the open back end, or an error wrapping errUnavailable.
func (c *conn) get() (Backend, error) {
	if ref := c.current.Load(); ref != nil {
		return ref.Backend, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ref := c.current.Load(); ref != nil {
		return ref.Backend, nil
	}
	if c.isClosed {
		return nil, errClosed
	}
	if time.Since(c.lastTry) < reopenEvery && c.lastErr != nil {
		return nil, c.lastErr
	}
	c.lastTry = time.Now()
	b, err := c.open()
	if err != nil {
		c.lastErr = fmt.Errorf("%w: %v", errUnavailable, err)
		return nil, c.lastErr
	}
	c.lastErr = nil
	c.current.Store(&backendRef{b})
	return b, nil
}

// openError is the last reason the back end could not open, or nil.
func (c *conn) openError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}

// reset closes the current back end so that the next get opens it again.
func (c *conn) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ref := c.current.Swap(nil); ref != nil {
		ref.Close()
	}
}

func (c *conn) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.isClosed = true
	ref := c.current.Swap(nil)
	if ref == nil {
		return nil
	}
	return ref.Close()
}

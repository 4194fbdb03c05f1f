package sessionstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

var errUnavailable = errors.New("store unavailable")

// conn holds the back end. It is opened once when the store starts; when
// that fails (a missing disk, a corrupt file, an unreachable server) or the
// back end is lost later, it is opened again in the background, at most once
// per reopenEvery, so that the store recovers without a restart and no
// request ever waits for an open (a Redis dial can take seconds).
type conn struct {
	open    func() (Backend, error)
	current atomic.Pointer[backendRef]

	mu       sync.Mutex
	lastTry  time.Time
	lastErr  error
	opening  bool
	isClosed bool
}

type backendRef struct{ Backend }

const reopenEvery = time.Second

// openNow opens the back end on the calling goroutine (at start).
func (c *conn) openNow() error {
	c.mu.Lock()
	c.lastTry, c.opening = time.Now(), true
	c.mu.Unlock()
	b, err := c.open()
	c.opened(b, err)
	return err
}

// get returns the open back end, or an error wrapping errUnavailable (and
// starts a background open when one is due).
func (c *conn) get() (Backend, error) {
	if ref := c.current.Load(); ref != nil {
		return ref.Backend, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ref := c.current.Load(); ref != nil {
		return ref.Backend, nil
	}
	switch {
	case c.isClosed:
		return nil, errClosed
	case c.opening || time.Since(c.lastTry) < reopenEvery:
		return nil, c.unavailable()
	}
	c.lastTry, c.opening = time.Now(), true
	go func() {
		b, err := c.open()
		c.opened(b, err)
	}()
	return nil, c.unavailable()
}

// await returns the back end once it is open, polling get (which starts
// the opens) until ctx ends.
func (c *conn) await(ctx context.Context) (Backend, error) {
	for {
		b, err := c.get()
		if err == nil || errors.Is(err, errClosed) {
			return b, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (%v)", ctx.Err(), err)
		case <-time.After(awaitPoll):
		}
	}
}

// awaitPoll is how often await asks whether the back end is open.
const awaitPoll = 10 * time.Millisecond

func (c *conn) unavailable() error {
	if c.lastErr != nil {
		return c.lastErr
	}
	return fmt.Errorf("%w: opening", errUnavailable)
}

// opened records the outcome of an open.
func (c *conn) opened(b Backend, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opening = false
	if err != nil {
		c.lastErr = fmt.Errorf("%w: %v", errUnavailable, err)
		return
	}
	if c.isClosed {
		b.Close() // the store closed while this was opening
		return
	}
	c.lastErr = nil
	c.current.Store(&backendRef{b})
}

// openError is the last reason the back end could not open, or nil.
func (c *conn) openError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}

// reset closes the current back end so that it is opened again.
func (c *conn) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ref := c.current.Swap(nil); ref != nil {
		ref.Close()
	}
	c.lastTry = time.Time{} // reopen at the next use, without waiting
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

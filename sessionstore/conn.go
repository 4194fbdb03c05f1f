package sessionstore

import (
	"context"
	"errors"
	"fmt"
	"io"
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
type conn[B io.Closer] struct {
	open    func() (B, error)
	current atomic.Pointer[backendRef[B]]

	mu       sync.Mutex
	lastTry  time.Time
	lastErr  error
	opening  bool
	isClosed bool
}

type backendRef[B io.Closer] struct{ backend B }

const reopenEvery = time.Second

// openNow opens the back end on the calling goroutine (at start).
func (c *conn[B]) openNow() error {
	c.mu.Lock()
	c.lastTry, c.opening = time.Now(), true
	c.mu.Unlock()
	b, err := c.open()
	c.opened(b, err)
	return err
}

// get returns the open back end, or an error wrapping errUnavailable (and
// starts a background open when one is due).
func (c *conn[B]) get() (b B, err error) {
	if ref := c.current.Load(); ref != nil {
		return ref.backend, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ref := c.current.Load(); ref != nil {
		return ref.backend, nil
	}
	switch {
	case c.isClosed:
		return b, errClosed
	case c.opening || time.Since(c.lastTry) < reopenEvery:
		return b, c.unavailable()
	}
	c.lastTry, c.opening = time.Now(), true
	go func() {
		b, err := c.open()
		c.opened(b, err)
	}()
	return b, c.unavailable()
}

// await returns the back end once it is open, polling get (which starts
// the opens) until ctx ends.
func (c *conn[B]) await(ctx context.Context) (B, error) {
	for {
		b, err := c.get()
		if err == nil || errors.Is(err, errClosed) {
			return b, err
		}
		select {
		case <-ctx.Done():
			return b, fmt.Errorf("%w (%v)", ctx.Err(), err)
		case <-time.After(awaitPoll):
		}
	}
}

// awaitPoll is how often await asks whether the back end is open.
const awaitPoll = 10 * time.Millisecond

func (c *conn[B]) unavailable() error {
	if c.lastErr != nil {
		return c.lastErr
	}
	return fmt.Errorf("%w: opening", errUnavailable)
}

// opened records the outcome of an open.
func (c *conn[B]) opened(b B, err error) {
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
	c.current.Store(&backendRef[B]{b})
}

// openError is the last reason the back end could not open, or nil.
func (c *conn[B]) openError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}

// reset closes the current back end so that it is opened again.
func (c *conn[B]) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ref := c.current.Swap(nil); ref != nil {
		ref.backend.Close()
	}
	c.lastTry = time.Time{} // reopen at the next use, without waiting
}

func (c *conn[B]) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.isClosed = true
	ref := c.current.Swap(nil)
	if ref == nil {
		return nil
	}
	return ref.backend.Close()
}

package sessionstore

import (
	"context"
	"time"
)

// deadline is the time budget of one visit. Its context is made only when
// the visit has to wait (a lock another request holds, a back-end call, a
// synchronous commit): a visit answered from memory never needs one, and
// a context with a timer is most of what such a visit would allocate.
//
// The client going away does not end a visit's work early: an update that
// reaches the back end is then counted whole, and the work is bounded by
// the deadline either way.
type deadline struct {
	parent context.Context
	at     time.Time
	ctx    context.Context
	cancel context.CancelFunc
}

func newDeadline(parent context.Context, timeout time.Duration) deadline {
	return deadline{parent: parent, at: time.Now().Add(timeout)}
}

// given wraps a context that already carries its deadline.
func given(ctx context.Context) *deadline {
	return &deadline{ctx: ctx}
}

// context returns the context that ends at the deadline.
func (d *deadline) context() context.Context {
	if d.ctx == nil {
		d.ctx, d.cancel = context.WithDeadline(context.WithoutCancel(d.parent), d.at)
	}
	return d.ctx
}

// release frees the context's timer, if one was made.
func (d *deadline) release() {
	if d.cancel != nil {
		d.cancel()
	}
}

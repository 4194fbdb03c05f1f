package sessionstore

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// writer is the one goroutine that writes to the back end. Updates wait in
// a bounded set where later versions of an object replace earlier ones, and
// go out together every flush interval (group commit). A full set drops new
// objects and counts them; no request ever waits for room.
type writer struct {
	save     func(context.Context, Batch) error
	interval time.Duration
	limit    int

	mu       sync.Mutex
	objects  map[uuid.UUID]Object
	sessions map[uuid.UUID]SessionRow
	bindings map[bindingKey]Binding
	waiters  []chan error
	// committing is the batch being written: its objects are not in the
	// back end yet, so a visit must still find them here.
	committing map[uuid.UUID]Object
	// forgotten are clients erased while a commit was under way: a failed
	// commit must not put them back.
	forgotten map[uuid.UUID]bool
	// closed refuses updates once the final commit is due: a request still
	// in flight when its store is destroyed learns that its update was not
	// written.
	closed bool

	dropped atomic.Uint64
	wake    chan struct{}
	flushes chan chan error
	// jobs are other writes to run between commits (the dashboard's
	// aggregates), so that one goroutine writes to the back end.
	jobs chan writerJob
	stop chan struct{}
	done chan struct{}
}

// saveTimeout bounds one group commit, so a hung back end cannot hold the
// writer (or a graceful stop) forever.
const saveTimeout = 10 * time.Second

func newWriter(save func(context.Context, Batch) error, interval time.Duration, limit int) *writer {
	w := &writer{
		save: save, interval: interval, limit: limit,
		objects:   make(map[uuid.UUID]Object),
		sessions:  make(map[uuid.UUID]SessionRow),
		bindings:  make(map[bindingKey]Binding),
		forgotten: make(map[uuid.UUID]bool),
		wake:      make(chan struct{}, 1),
		flushes:   make(chan chan error),
		jobs:      make(chan writerJob),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	go w.run()
	return w
}

// enqueue queues obj and, when a visit ended a session, that session's final
// row (the current session's row is part of the object). With wait, the
// returned channel yields the outcome of the commit that carries it;
// otherwise it is nil. It refuses the update with errClosed once the final
// commit is due, and with errDropped (counted) when the queue is full.
func (w *writer) enqueue(obj Object, closed *SessionRow, wait bool) (<-chan error, error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil, errClosed
	}
	if _, queued := w.objects[obj.ClientID]; !queued && len(w.objects) >= w.limit {
		w.mu.Unlock()
		w.dropped.Add(1)
		return nil, errDropped
	}
	w.objects[obj.ClientID] = obj
	if closed != nil {
		w.sessions[closed.SessionID] = *closed
	}
	var ch chan error
	if wait {
		ch = make(chan error, 1)
		w.waiters = append(w.waiters, ch)
	}
	w.mu.Unlock()
	w.wakeUp()
	return ch, nil
}

// bindingKey is what a later binding replaces in the queue: the same
// client bound to the same user.
type bindingKey struct {
	client uuid.UUID
	user   string
}

// bind queues a binding, refused like enqueue's updates: with errClosed
// once the final commit is due, with errDropped (counted) when as many
// bindings as objects the queue holds are waiting.
func (w *writer) bind(b Binding) error {
	key := bindingKey{b.ClientID, b.UserID}
	w.mu.Lock()
	switch _, queued := w.bindings[key]; {
	case w.closed:
		w.mu.Unlock()
		return errClosed
	case !queued && len(w.bindings) >= w.limit:
		w.mu.Unlock()
		w.dropped.Add(1)
		return errDropped
	}
	w.bindings[key] = b
	w.mu.Unlock()
	w.wakeUp()
	return nil
}

// wakeUp tells the writer that something is queued.
func (w *writer) wakeUp() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// unwritten returns the newest version of a client's object that is queued
// or being committed: the back end does not have it yet, and the cache may
// have let it go.
func (w *writer) unwritten(id uuid.UUID) (Object, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if o, ok := w.objects[id]; ok {
		return o, true
	}
	if w.forgotten[id] {
		return Object{}, false // erased while its commit was under way
	}
	o, ok := w.committing[id]
	return o, ok
}

// forget drops a client's queued object, session rows and bindings and
// reports whether an object or a row was queued.
func (w *writer) forget(id uuid.UUID) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, queued := w.objects[id]
	delete(w.objects, id)
	w.forgotten[id] = true
	for sid, row := range w.sessions {
		if row.ClientID == id {
			delete(w.sessions, sid)
			queued = true
		}
	}
	for key := range w.bindings {
		if key.client == id {
			delete(w.bindings, key)
		}
	}
	return queued
}

// depth is the number of objects waiting to be written.
func (w *writer) depth() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.objects)
}

// flush commits everything queued so far and waits for it.
func (w *writer) flush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case w.flushes <- reply:
	case <-w.done:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writerJob is a write to run on the writer's goroutine.
type writerJob struct {
	write func() error
	reply chan error
}

// do runs write on the writer's goroutine, between commits, and returns
// its error.
func (w *writer) do(ctx context.Context, write func() error) error {
	j := writerJob{write: write, reply: make(chan error, 1)}
	select {
	case w.jobs <- j:
	case <-w.done:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-j.reply // the write runs under its own deadline
}

// close commits what is queued and stops the goroutine.
func (w *writer) close() {
	w.mu.Lock()
	already := w.closed
	w.closed = true // every update queued before this is in the final commit
	w.mu.Unlock()
	if !already {
		close(w.stop)
	}
	<-w.done
}

func (w *writer) run() {
	defer close(w.done)
	window := time.NewTimer(0)
	<-window.C
	for {
		select {
		case <-w.wake:
			window.Reset(w.interval)
			if w.commitAfter(window) {
				return
			}
		case reply := <-w.flushes:
			reply <- w.commit()
		case j := <-w.jobs:
			j.reply <- j.write()
		case <-w.stop:
			w.commit()
			return
		}
	}
}

// commitAfter commits when the group-commit window ends, or earlier for a
// flush or the stop, running jobs meanwhile. It reports the stop.
func (w *writer) commitAfter(window *time.Timer) (stopped bool) {
	for {
		select {
		case <-window.C:
			w.commit()
			return false
		case reply := <-w.flushes:
			window.Stop()
			reply <- w.commit()
			return false
		case j := <-w.jobs:
			j.reply <- j.write()
		case <-w.stop:
			w.commit()
			return true
		}
	}
}

// commit writes the queued batch. On failure the batch goes back into the
// queue (newer versions that arrived meanwhile win) to be retried by the
// next commit.
func (w *writer) commit() error {
	w.mu.Lock()
	q := queued{w.objects, w.sessions, w.bindings}
	waiters := w.waiters
	w.objects = make(map[uuid.UUID]Object, len(q.objects))
	w.sessions = make(map[uuid.UUID]SessionRow, len(q.sessions))
	w.bindings = make(map[bindingKey]Binding)
	w.waiters = nil
	w.committing = q.objects
	clear(w.forgotten)
	w.mu.Unlock()
	if len(q.objects) == 0 && len(q.sessions) == 0 && len(q.bindings) == 0 {
		notify(waiters, nil)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
	err := w.save(ctx, q.batch())
	cancel()
	w.settle(q, err)
	notify(waiters, err)
	return err
}

// queued is what one commit takes from the queue.
type queued struct {
	objects  map[uuid.UUID]Object
	sessions map[uuid.UUID]SessionRow
	bindings map[bindingKey]Binding
}

func (q queued) batch() Batch {
	b := Batch{Objects: make([]Object, 0, len(q.objects)), Sessions: make([]SessionRow, 0, len(q.sessions)),
		Bindings: make([]Binding, 0, len(q.bindings))}
	for _, o := range q.objects {
		b.Objects = append(b.Objects, o)
	}
	for _, s := range q.sessions {
		b.Sessions = append(b.Sessions, s)
	}
	for _, bound := range q.bindings {
		b.Bindings = append(b.Bindings, bound)
	}
	return b
}

// settle ends a commit: its objects are in the back end now or, when it
// failed, back in the queue, in one step, so that a visit never finds an
// object in neither place.
func (w *writer) settle(q queued, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.committing = nil
	if err != nil {
		w.requeue(q)
	}
}

// requeue puts a failed batch back, under w.mu.
func (w *writer) requeue(q queued) {
	for id, o := range q.objects {
		if _, newer := w.objects[id]; !newer && !w.forgotten[id] {
			w.objects[id] = o
		}
	}
	for id, s := range q.sessions {
		if _, newer := w.sessions[id]; !newer && !w.forgotten[s.ClientID] {
			w.sessions[id] = s
		}
	}
	for key, b := range q.bindings {
		if _, newer := w.bindings[key]; !newer && !w.forgotten[key.client] {
			w.bindings[key] = b
		}
	}
	w.wakeUp()
}

func notify(waiters []chan error, err error) {
	for _, ch := range waiters {
		ch <- err
	}
}

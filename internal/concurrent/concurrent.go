// Package concurrent runs work on many goroutines at once, for tests that
// send simultaneous requests.
package concurrent

import "sync"

// Do runs f(0) … f(n-1) each on a goroutine of its own and returns when all
// have returned.
func Do(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { f(i) })
	}
	wg.Wait()
}

// Map runs f(0) … f(n-1) at once and returns their results in that order.
func Map[T any](n int, f func(i int) T) []T {
	results := make([]T, n)
	Do(n, func(i int) { results[i] = f(i) })
	return results
}

// Background runs f(0, done) … f(n-1, done) each on a goroutine of its own
// and returns at once; stop closes done and returns when every f has
// returned.
func Background(n int, f func(i int, done <-chan struct{})) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { f(i, done) })
	}
	return func() {
		close(done)
		wg.Wait()
	}
}

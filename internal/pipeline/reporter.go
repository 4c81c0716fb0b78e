package pipeline

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/flowtrace/flowtrace/internal/goid"
)

// maxPendingReports bounds the reports waiting for a slow error handler;
// beyond it they are counted, and the count is reported once the handler
// catches up.
const maxPendingReports = 1024

// reporter runs the error handler for failures found in the background (an
// exporter's error or panic, an abandoned call), on a goroutine of its own:
// never on a delivery goroutine, so that a slow handler cannot stall an
// exporter, and a handler that ends a run or shuts the service down does
// not wait for itself. Its goroutine runs only while reports are pending,
// and Shutdown waits for it.
type reporter struct {
	handler    func(error)
	inDelivery error // the sentinel of a wait that would wait for itself

	mu       sync.Mutex
	queue    []error
	queued   uint64        // reports queued so far
	handled  uint64        // of which the handler has returned
	progress chan struct{} // closed and replaced when handled grows
	lost     int           // reports beyond maxPendingReports
	running  bool          // a goroutine is draining the queue
	idle     chan struct{} // closed when no goroutine runs; replaced when one starts
	g        atomic.Int64  // id of the running goroutine, 0 if none
}

func newReporter(h func(error), inDelivery error) *reporter {
	r := &reporter{handler: h, inDelivery: inDelivery, idle: make(chan struct{}), progress: make(chan struct{})}
	close(r.idle)
	return r
}

// report queues err for the handler and returns at once, with the number
// to pass to waitFor (0 when the report was only counted).
func (r *reporter) report(err error) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queue) >= maxPendingReports {
		r.lost++
		return 0
	}
	r.queue = append(r.queue, err)
	r.queued++
	if !r.running {
		r.running = true
		r.idle = make(chan struct{})
		go r.drain() // owned by the reporter: awaited through idle by Shutdown
	}
	return r.queued
}

func (r *reporter) drain() {
	r.g.Store(goid.Get())
	for {
		r.mu.Lock()
		if len(r.queue) == 0 && r.lost == 0 {
			r.running = false
			r.g.Store(0)
			close(r.idle)
			r.mu.Unlock()
			return
		}
		var err error
		counted := len(r.queue) > 0
		if counted {
			err = r.queue[0]
			r.queue[0] = nil
			r.queue = r.queue[1:]
		} else {
			err = fmt.Errorf("flowtrace: %d error reports dropped: the error handler is slower than the failures it is told of", r.lost)
			r.lost = 0
		}
		r.mu.Unlock()
		r.handle(err)
		if counted {
			r.mu.Lock()
			r.handled++
			close(r.progress)
			r.progress = make(chan struct{})
			r.mu.Unlock()
		}
	}
}

// handle runs the handler; a panic in it must not stop the reporter, which
// Shutdown would then wait for in vain.
func (r *reporter) handle(err error) {
	defer func() { _ = recover() }()
	r.handler(err)
}

// waitFor waits until the handler has returned from report number n, or
// ctx is done. Called from the handler itself, it does not wait.
func (r *reporter) waitFor(ctx context.Context, n uint64) error {
	if n == 0 || r.self() {
		return nil
	}
	for {
		r.mu.Lock()
		done, progress := r.handled >= n, r.progress
		r.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-progress:
		case <-ctx.Done():
			return fmt.Errorf("flowtrace: the error handler has not yet been told of every failure: %w", ctx.Err())
		}
	}
}

// self reports whether the caller is the handler, on the reporter's
// goroutine.
func (r *reporter) self() bool {
	g := r.g.Load()
	return g != 0 && g == goid.Get()
}

// wait waits until no report is pending or being handled, or ctx is done.
// Called from the handler itself, it does not wait for itself and reports
// false at once.
func (r *reporter) wait(ctx context.Context) error {
	if r.self() {
		return fmt.Errorf("%w: called from the error handler, which is still running", r.inDelivery)
	}
	r.mu.Lock()
	idle := r.idle
	r.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("flowtrace: the error handler is still running: %w", ctx.Err())
	}
}

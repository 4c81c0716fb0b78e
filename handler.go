package flowtrace

import (
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/flowtrace/flowtrace/internal/goid"
)

// handlerCalls is the error handler as the service calls it: safe from its
// panics, and known to be running. A handler may end runs or shut the
// service down, on the service's reporting goroutine or on a caller's;
// Shutdown asks whether it runs inside the handler, and then waits for no
// hold: while it waited, the handler would hear of nothing else, and the
// hold may be its own caller's to release. The zero value knows of no
// call.
type handlerCalls struct {
	n  atomic.Int32 // calls in progress; when 0, nothing else is read
	mu sync.Mutex
	in map[int64]int // goroutine → calls in progress on it; guarded by mu
}

// wrap returns h as the service calls it; slog's default logger for nil.
func (hc *handlerCalls) wrap(h func(error)) func(error) {
	if h == nil {
		return func(err error) { slog.Error("flowtrace", "err", err) }
	}
	return func(err error) {
		g := hc.enter()
		defer hc.leave(g)
		defer func() { _ = recover() }() // a panicking handler must not take a worker down
		h(err)
	}
}

func (hc *handlerCalls) enter() int64 {
	g := goid.Get()
	hc.mu.Lock()
	if hc.in == nil {
		hc.in = make(map[int64]int)
	}
	hc.in[g]++
	hc.mu.Unlock()
	hc.n.Add(1)
	return g
}

func (hc *handlerCalls) leave(g int64) {
	hc.n.Add(-1)
	hc.mu.Lock()
	if hc.in[g]--; hc.in[g] == 0 {
		delete(hc.in, g)
	}
	hc.mu.Unlock()
}

// self reports whether the caller runs inside the error handler.
func (hc *handlerCalls) self() bool {
	if hc.n.Load() == 0 {
		return false
	}
	g := goid.Get()
	hc.mu.Lock()
	defer hc.mu.Unlock()
	return hc.in[g] > 0
}

package pipeline

import "sync/atomic"

const closedBit = int64(1) << 62

// Gate admits writers until it is closed, and lets the closer wait until the
// writers already inside have left. Enter and Leave are two atomic adds: a
// gate costs its writers no lock and no allocation. The zero value is an open
// gate.
type Gate struct {
	state atomic.Int64                  // closedBit | writers inside
	wake  atomic.Pointer[chan struct{}] // the closer's, taken by the writer that closes it
}

// Enter reports whether the gate is still open; if it is, the caller must
// call Leave when its write is done.
func (g *Gate) Enter() bool {
	if g.state.Add(1)&closedBit != 0 {
		g.Leave()
		return false
	}
	return true
}

// Leave lets a writer out. It reports whether the gate is closed and now
// empty, which happens once per gate for a writer that was admitted last,
// and possibly again for refused writers; callers that act on it must make
// their action idempotent.
func (g *Gate) Leave() bool {
	if g.state.Add(-1) != closedBit {
		return false
	}
	if ch := g.wake.Swap(nil); ch != nil { // one Leave takes it
		close(*ch)
	}
	return true
}

// Closed reports whether Close has been called.
func (g *Gate) Closed() bool { return g.state.Load()&closedBit != 0 }

// Close shuts the gate. It reports whether this call closed it, and whether
// no writer was inside at that moment.
func (g *Gate) Close() (first, empty bool) {
	old := g.state.Or(closedBit)
	return old&closedBit == 0, old == 0
}

// CloseAndWait shuts the gate and waits until the writers inside have left.
// Writers only ever spend a bounded time inside (an enqueue under the
// overflow policy), so the wait is bounded. It reports whether this call
// closed the gate.
func (g *Gate) CloseAndWait() bool {
	first, empty := g.Close()
	if !first || empty {
		return first
	}
	ch := make(chan struct{})
	g.wake.Store(&ch)
	if g.state.Load() == closedBit {
		return true
	}
	<-ch
	return true
}

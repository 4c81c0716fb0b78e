package pipeline

// The watchdog abandons a backend call that outlives the export timeout.
//
// The lane's worker publishes each call in cur: seq<<2 | inCall, having
// first written what the call is (callRL, callWhat). The lane's timer runs
// watch while the worker is busy, at least every quarter of the export
// timeout. A call's deadline is fixed the first time somebody asks for it:
// the watchdog when it first sees the call, or the backend through its
// ctx. Either reads the clock after the call started, so a deadline is
// never less than the timeout after the call's start, and a call is
// abandoned between one and one and a quarter timeouts after it started;
// the worker itself reads no clock. When the watchdog finds a call past
// its deadline, it marks it abandoned with one CAS on cur (setting bit 2).
// From then on exactly one side owns the lane's state:
//
//   - the watchdog won the CAS: the stuck goroutine must touch nothing when
//     its call returns (its own CAS on cur fails); it only uncounts itself
//     from stuck and from the pipeline's abandoned calls. The watchdog
//     starts a new worker generation, which settles the abandoned call
//     (settleAbandoned) and carries on, failing the lane's records without
//     calling the backend while stuck > 0. The stuck goroutine hands over
//     what an abandoned Open returned (late) before it uncounts itself,
//     and the new generation resumes the runs that waited (resume).
//   - the call returned first (the worker's CAS clearing inCall won): the
//     watchdog backs off and re-arms.
//
// Each generation has its own ctx for the calls it makes, cancelled when it
// is abandoned, so a backend that watches its ctx returns at once.

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"
)

var epoch = time.Now()

// nanotime is a monotonic clock in nanoseconds.
func nanotime() int64 { return int64(time.Since(epoch)) }

// deadlineAfter returns now+d on the nanotime clock, saturated: an export
// timeout too large to add (math.MaxInt64) is a deadline that never comes,
// not one in the past.
func deadlineAfter(now int64, d time.Duration) int64 {
	if int64(d) > math.MaxInt64-now {
		return math.MaxInt64
	}
	return now + int64(d)
}

// generation is one worker goroutine's identity and the context its calls get.
type generation[O, E any] struct {
	call   callCtx[O, E]
	cancel context.CancelFunc
}

// callCtx is the context handed to backend calls: it is cancelled when the
// call is abandoned or the lane is forced to stop, and its deadline is the
// current call's.
type callCtx[O, E any] struct {
	context.Context
	l *lane[O, E]
}

func (c *callCtx[O, E]) Deadline() (time.Time, bool) {
	return epoch.Add(time.Duration(c.l.callDeadline())), true
}

// callDeadline returns the deadline of the call in progress (or of the
// last call), fixing it now if nobody has asked before. The worker stores
// -seq when a call starts; the CAS from that value fails if another call
// has started since it was read, and then its deadline is read again.
func (l *lane[O, E]) callDeadline() int64 {
	for {
		d := l.deadline.Load()
		if d >= 0 {
			return d
		}
		if nd := deadlineAfter(nanotime(), l.timeout); l.deadline.CompareAndSwap(d, nd) {
			return nd
		}
	}
}

// watchEvery is how often the watchdog looks at a busy lane: a call is
// abandoned at most this long after its deadline.
func (l *lane[O, E]) watchEvery() time.Duration { return max(l.timeout/4, time.Microsecond) }

func (c *callCtx[O, E]) Err() error {
	if c.Context.Err() != nil {
		return context.DeadlineExceeded
	}
	return nil
}

func (l *lane[O, E]) newGeneration() *generation[O, E] {
	base := context.WithValue(context.Background(), deliveringKey{}, l)
	ctx, cancel := context.WithCancel(base)
	return &generation[O, E]{call: callCtx[O, E]{Context: ctx, l: l}, cancel: cancel}
}

// abandoned describes the call a stuck generation was making.
type abandoned[O, E any] struct {
	rl   *runLane[O, E]
	what callKind
	seq  uint64
}

// watch is the watchdog, run by the lane's timer while the worker is busy.
func (l *lane[O, E]) watch() {
	c := l.cur.Load()
	if c&1 == 0 || c&2 != 0 {
		if l.busy.Load() {
			l.timer.Reset(l.watchEvery())
		}
		return
	}
	if rem := l.callDeadline() - nanotime(); rem > 0 {
		l.timer.Reset(min(time.Duration(rem), l.watchEvery()))
		return
	}
	// abandoned is counted before the abandonment is published: the stuck
	// call may return, see it and uncount itself at once. (stuck may dip
	// below zero for that moment; readers only test it for > 0.)
	l.p.abandoned.add()
	if !l.cur.CompareAndSwap(c, c|2) {
		l.p.abandoned.done()
		l.timer.Reset(l.watchEvery())
		return
	}
	l.stuck.Add(1)
	inh := &abandoned[O, E]{rl: l.callRL, what: l.callWhat, seq: c >> 2}
	l.gen.Load().cancel()
	ng := l.newGeneration()
	l.gen.Store(ng)
	if l.force.Load() {
		ng.cancel()
	}
	err := fmt.Errorf("%w: exporter %q: a call of run %s ran past %v; abandoned, and the exporter's later events fail until it returns",
		l.p.errs.ExportTimeout, l.name, inh.rl.run.ID, l.timeout)
	// Queued (the handler runs elsewhere) before the next generation can
	// settle the run, so that the run's Wait waits for the report too.
	inh.rl.run.noteReport(l.p.report(err))
	go l.work(ng, inh) // owned by the Pipeline like the first generation
}

// AbandonCall makes the watchdog of the lane of backend name abandon the
// call in progress there at once, as if its deadline had passed, and
// reports whether there is such a lane. The caller must know that the call
// is in progress and will not return meanwhile (it blocks until the caller
// releases it), or the next call could be abandoned instead. It is for
// tests, of this package's users too: they abandon a call without waiting
// out a short export timeout, which any other call preempted long enough
// on a loaded machine would outlive as well.
func (p *Pipeline[O, E]) AbandonCall(name string) bool {
	for _, l := range p.lanes.Load().lanes {
		if l.name == name {
			l.deadline.Store(0)
			l.watch()
			return true
		}
	}
	return false
}

// settleAbandoned accounts, in the new generation, for the call the stuck
// generation was making, and does what it would have done next: count the
// event processed, or finish the run. The run is not lost to the stall
// (see lane): once the call has returned, its later records and its end
// reach the backend. It reports false when this generation was abandoned
// in turn.
func (l *lane[O, E]) settleAbandoned(g *generation[O, E], a *abandoned[O, E]) bool {
	rl := a.rl
	rl.timedOut.Store(true)
	rl.failed()
	switch a.what {
	case callOpen:
		// The call may yet return a session: the run awaits it.
		rl.st = rlAwaiting
		l.deferred = append(l.deferred, rl)
	case callDeliver:
		// The event reached the backend, which is still at it: the
		// component it opens, if any, is known there.
		return l.afterRing(g, rl)
	case callClose:
		l.settleFinished(rl)
	}
	return true
}

// counter counts goroutines in some state and lets a caller wait until
// there are none. The zero value is ready to use.
type counter struct {
	mu   sync.Mutex
	n    int
	zero chan struct{} // closed when n drops to 0; nil while n is 0
}

func (c *counter) add() {
	c.mu.Lock()
	if c.n == 0 {
		c.zero = make(chan struct{})
	}
	c.n++
	c.mu.Unlock()
}

func (c *counter) done() {
	c.mu.Lock()
	c.n--
	if c.n == 0 {
		close(c.zero)
		c.zero = nil
	}
	c.mu.Unlock()
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// idle returns a channel closed once the count is zero.
func (c *counter) idle() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		return closedChan
	}
	return c.zero
}

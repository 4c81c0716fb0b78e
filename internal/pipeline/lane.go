package pipeline

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// A lane is one backend's queue and the worker that empties it.
//
// Life cycle. A lane is created by Pipeline.Add and serves the runs that
// start while it is registered; each such run holds a reference (acquire,
// release). Remove or Shutdown retires it: new runs no longer see it, but
// the runs holding it still deliver to it, and it stops only once the last
// of them has finished (stop), never before, since a run still open may yet
// queue its end. The worker then shuts the backend down (unless another
// registration of the same backend is still running) and exits.
//
//	running ──retire──▶ retiring ──last run finished──▶ stopping ──▶ exited
//	                        │                               ▲
//	                        └────────no run holds it────────┘
//
// Worker states. The worker sleeps when the queue and the control list are
// empty (sleeping is set, producers signal wake); otherwise it is busy,
// and either between calls or in a call to the backend (cur's low bit).
// A call that outlives the export timeout is abandoned by the watchdog
// (watchdog.go): the stuck goroutine is left to return on its own, a new
// worker generation takes over the queue, and until the stuck call returns
// (stuck > 0: the lane is stalled) the lane calls the backend no more and
// fails its records. Once it has returned, every run carries on: no run is
// lost to a stall, only the records taken during it. Shutdown out of time
// forces the lane (force): what is left is dropped, and counted, rather
// than delivered.
//
// A run on a lane (runLane, its rlState) goes
//
//	                  Open returns a session
//	pending ──────────────────────────────────────────▶ open
//	   │ opening taken during a stall                   ▲  ▲
//	   ▼                       stall over: Open         │  │ the abandoned Open
//	deferred ───────────────────────────────────────────┘  │ returns a session
//	pending, deferred ──Open abandoned──▶ awaiting ─────────┘
//
// and to broken when Open fails, returns no session, or the lane was
// forced; from any state, to finished once its closing has been taken and
// every record counted before it processed.
//
// A run whose opening is taken during a stall is deferred: its Open is
// made once the stuck call has returned, before any other call (resume),
// so that the backend sees it start; its records taken meanwhile fail. A
// run whose Open was abandoned awaits that call: if it returns a session,
// the run's later records go to it. A run whose event was abandoned stays
// open: it fails its records until the call returns, then carries on, its
// end included. A run is finished once its closing has been taken and
// every record counted before it has been processed; its end is delivered
// if the run is open and the lane not stalled, and counted either way.
type lane[O, E any] struct {
	p       *Pipeline[O, E]
	name    string
	key     any  // the backend's identity (see Pipeline.Add)
	leaving bool // the lane no longer holds its backend; guarded by p.mu
	backend Backend[O, E]
	q       *ring[O, E]
	timeout time.Duration

	ctrlMu   sync.Mutex
	ctrl     []ctrlItem[O, E]
	ctrlHead int
	ctrlN    atomic.Int32

	wake     chan struct{} // capacity 1
	sleeping atomic.Bool

	spaceWaiters atomic.Int32
	spaceMu      sync.Mutex
	space        chan struct{} // closed and replaced when room appears

	refMu    sync.Mutex // guards refs, removed
	refs     int        // runs using the lane
	removed  bool
	stopOnce sync.Once
	stopCh   chan struct{}
	stopCtx  context.Context // guarded by refMu
	force    atomic.Bool
	exited   chan struct{}

	shutdownErr error // set before exited is closed

	// Totals of the lane over all its runs (see totals). outside counts
	// the events that never entered the ring: openings, closings and
	// drops before the queue. The worker's counts have one writer at a
	// time.
	outside                    atomic.Uint64
	delivered, dropped, failed atomic.Uint64

	// Watchdog. cur is seq<<2 | inCall(1) | abandoned(2). The call* fields are
	// written by the worker before it stores cur, and read by the watchdog
	// after it loads cur.
	timer    *time.Timer
	busy     atomic.Bool
	cur      atomic.Uint64
	deadline atomic.Int64 // of the call in progress; -seq until first asked (see callDeadline)
	stuck    atomic.Int32
	worker   atomic.Int64 // goroutine id of the current generation (see goid)
	gen      atomic.Pointer[generation[O, E]]
	seq      uint64
	callRL   *runLane[O, E]
	callWhat callKind

	// Stalls. deferred holds the runs waiting for a stall to end (deferred
	// or awaiting, in the order they got there; some may have finished
	// since: done counts them); the current generation owns it. late is
	// what an abandoned Open returned, stored by the stuck goroutine before
	// it uncounts itself from stuck.
	deferred     []*runLane[O, E]
	deferredDone int
	late         atomic.Pointer[lateOpen[O, E]]
}

// lateOpen is what an abandoned Open returned, for its run to use.
type lateOpen[O, E any] struct {
	rl   *runLane[O, E]
	sess Session[E]
	err  error
}

type counters struct {
	delivered, dropped, failed atomic.Uint64
}

func newLane[O, E any](p *Pipeline[O, E], b Backend[O, E], name string, key any) *lane[O, E] {
	l := &lane[O, E]{
		p:       p,
		name:    name,
		key:     key,
		backend: b,
		q:       newRing[O, E](p.cfg.QueueSize),
		timeout: p.cfg.ExportTimeout,
		wake:    make(chan struct{}, 1),
		stopCh:  make(chan struct{}),
		exited:  make(chan struct{}),
	}
	l.timer = time.AfterFunc(time.Hour, l.watch)
	l.timer.Stop()
	g := l.newGeneration()
	l.gen.Store(g)
	go l.work(g, nil) // owned by the Pipeline: stopped by stop, awaited by Shutdown
	return l
}

// totals counts the lane's events so far, for Stats: O(1) and lock-free,
// exact once no run is in flight. Events queued are counted by the ring's
// tail, so producers pay nothing extra for them.
func (l *lane[O, E]) totals() Delivery {
	return Delivery{
		Emitted:   l.q.pushed() + l.outside.Load(),
		Delivered: l.delivered.Load(),
		Dropped:   l.dropped.Load(),
		Failed:    l.failed.Load(),
	}
}

func (l *lane[O, E]) state() string {
	switch {
	case l.stuck.Load() > 0:
		return fmt.Sprintf("a call has been stuck for more than %v", l.timeout)
	case l.cur.Load()&1 != 0:
		return "a call is in progress"
	default:
		return "draining"
	}
}

// signal wakes the worker if it sleeps.
func (l *lane[O, E]) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// acquire adds a run to the lane. It reports false once the lane has been
// removed.
func (l *lane[O, E]) acquire() bool {
	l.refMu.Lock()
	defer l.refMu.Unlock()
	if l.removed {
		return false
	}
	l.refs++
	return true
}

// release drops one run's hold on the lane; the last release after removal
// stops the lane.
func (l *lane[O, E]) release() {
	l.refMu.Lock()
	l.refs--
	last := l.removed && l.refs == 0
	l.refMu.Unlock()
	if last {
		l.stop()
	}
}

// retire refuses new runs; the lane stops once its last run has finished,
// never before: a run still open may yet queue its end. ctx, unless an
// earlier retire gave one, is what the backend's Shutdown gets; nil means
// the export timeout.
func (l *lane[O, E]) retire(ctx context.Context) {
	l.refMu.Lock()
	l.removed = true
	if l.stopCtx == nil {
		l.stopCtx = ctx
	}
	idle := l.refs == 0
	l.refMu.Unlock()
	if idle {
		l.stop()
	}
}

// stop asks the worker to finish the queue and exit, then shut the backend
// down. Called once no run uses the lane.
func (l *lane[O, E]) stop() {
	l.stopOnce.Do(func() { close(l.stopCh) })
}

// cancelCalls makes the worker drop what is left instead of delivering it,
// and cancels the context of the call in progress.
func (l *lane[O, E]) cancelCalls() {
	l.force.Store(true)
	l.gen.Load().cancel()
}

func (l *lane[O, E]) exit(g *generation[O, E]) {
	l.busy.Store(false)
	l.timer.Stop()
	l.refMu.Lock()
	ctx := l.stopCtx
	l.refMu.Unlock()
	if ctx == nil || ctx.Err() != nil {
		// No caller's ctx, or one that expired while the last runs ended:
		// the backend still gets the export timeout to flush.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), l.timeout)
		defer cancel()
	}
	if l.p.lastOfBackend(l) {
		l.shutdownErr = l.shutdownBackend(ctx)
	}
	g.cancel()
	l.p.laneExited(l)
	close(l.exited)
}

func (l *lane[O, E]) shutdownBackend(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: exporter %q in Shutdown: %v", l.p.errs.Panic, l.name, r)
		}
	}()
	if err := l.backend.Shutdown(ctx); err != nil {
		return fmt.Errorf("flowtrace: exporter %q: shutdown: %w", l.name, err)
	}
	return nil
}

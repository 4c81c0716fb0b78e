package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
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

// deliveringKey marks the context handed to backend calls, so that a backend
// calling back into the library from its worker is never made to wait for
// that same worker.
type deliveringKey struct{}

type callKind uint8

const (
	callOpen callKind = iota
	callDeliver
	callClose
)

// then says what was pending after an open call, for the worker that takes
// over if the call is abandoned.
type then uint8

const (
	thenNone then = iota
	thenRing
	thenFinish
)

type ctrlItem[O, E any] struct {
	rl     *runLane[O, E]
	end    bool
	target uint64
}

// lane is one backend's queue and worker. Exactly one worker goroutine (the
// current generation[O, E]) consumes the queue and calls the backend. When a call
// outlives the export timeout, the watchdog abandons that generation and
// starts another: the stuck goroutine is left to return on its own, and
// until it does the lane fails its events without calling the backend.
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
	refs     int        // runs using the lane[O, E]
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
	deadline atomic.Int64
	stuck    atomic.Int32
	worker   atomic.Int64 // goroutine id of the current generation (see goid)
	gen      atomic.Pointer[generation[O, E]]
	seq      uint64
	callRL   *runLane[O, E]
	callWhat callKind
	callThen then
}

type counters struct {
	emitted, delivered, dropped, failed atomic.Uint64
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
	return epoch.Add(time.Duration(c.l.deadline.Load())), true
}

func (c *callCtx[O, E]) Err() error {
	if c.Context.Err() != nil {
		return context.DeadlineExceeded
	}
	return nil
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

func (l *lane[O, E]) newGeneration() *generation[O, E] {
	base := context.WithValue(context.Background(), deliveringKey{}, l)
	ctx, cancel := context.WithCancel(base)
	return &generation[O, E]{call: callCtx[O, E]{Context: ctx, l: l}, cancel: cancel}
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

func (l *lane[O, E]) control(it ctrlItem[O, E]) {
	l.ctrlMu.Lock()
	l.ctrl = append(l.ctrl, it)
	l.ctrlN.Add(1)
	l.ctrlMu.Unlock()
	if l.sleeping.Load() {
		l.signal()
	}
}

func (l *lane[O, E]) popControl() (ctrlItem[O, E], bool) {
	l.ctrlMu.Lock()
	defer l.ctrlMu.Unlock()
	if l.ctrlHead == len(l.ctrl) {
		return ctrlItem[O, E]{}, false
	}
	it := l.ctrl[l.ctrlHead]
	l.ctrl[l.ctrlHead] = ctrlItem[O, E]{}
	l.ctrlHead++
	if l.ctrlHead == len(l.ctrl) {
		l.ctrl, l.ctrlHead = l.ctrl[:0], 0
	}
	l.ctrlN.Add(-1)
	return it, true
}

// waitBudget is the time one Emit may wait for room, across all its lanes:
// the overflow policy bounds the call, not each exporter's share of it.
// The zero value has not started waiting.
type waitBudget struct {
	timer   *time.Timer
	expired bool
}

// timeout returns the channel that fires when the budget is spent, starting
// the clock on first use.
func (w *waitBudget) timeout(d time.Duration) <-chan time.Time {
	if w.timer == nil {
		w.timer = time.NewTimer(d)
	}
	return w.timer.C
}

func (w *waitBudget) stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

// retryPush is what a producer does when the queue is full: under BlockFor,
// wait for room; under DropNewest, let the worker run once and try again.
// Flat-out producers otherwise outrun a worker that merely lacks CPU (eight
// of them dropped over half their events), where one yield keeps drops
// under 1%.
func (l *lane[O, E]) retryPush(ctx context.Context, rl *runLane[O, E], ev Event[E], w *waitBudget) bool {
	if l.p.cfg.Block > 0 {
		return l.pushWait(ctx, rl, ev, w)
	}
	last := l.cur.Load() // changes with every call the worker makes
	if l.stuck.Load() > 0 {
		return false // an abandoned call frees no room: yielding cannot help
	}
	for i := range dropYields {
		l.signal()
		runtime.Gosched()
		if l.q.push(rl, ev) {
			return true
		}
		if i%stallYields == stallYields-1 {
			// A worker stuck in one call frees no room: stop paying
			// for yields that cannot help.
			cur := l.cur.Load()
			if cur == last {
				return false
			}
			last = cur
		}
	}
	return false
}

// A producer under DropNewest lets the worker run up to dropYields times
// before it drops an event, unless the worker has made no call in the last
// stallYields (so a producer facing an exporter stuck in a call pays at
// most stallYields yields per event until the call is abandoned[O, E]). A worker
// preempted in the middle of a fast call looks the same as one in a slow
// call, so the time a call has taken is no guide.
const (
	dropYields  = 128
	stallYields = 32
)

// pushWait waits for room in the queue, within what is left of w.
func (l *lane[O, E]) pushWait(ctx context.Context, rl *runLane[O, E], ev Event[E], w *waitBudget) bool {
	if ctx != nil && ctx.Value(deliveringKey{}) == l || l.worker.Load() == goid() {
		return false // called back from this lane's own worker: waiting would wait for ourselves
	}
	abort := rl.run.abort
	select {
	case <-abort:
		return false
	default:
	}
	if w.expired {
		return false
	}
	l.spaceWaiters.Add(1)
	defer l.spaceWaiters.Add(-1)
	expire := w.timeout(l.p.cfg.Block)
	for {
		l.spaceMu.Lock()
		if l.space == nil {
			l.space = make(chan struct{})
		}
		ch := l.space
		l.spaceMu.Unlock()
		if l.q.push(rl, ev) {
			return true
		}
		l.signal()
		select {
		case <-ch:
		case <-expire:
			w.expired = true
			return l.q.push(rl, ev)
		case <-l.stopCh:
			return false
		case <-abort:
			return false
		}
	}
}

func (l *lane[O, E]) signalSpace() {
	l.spaceMu.Lock()
	if l.space != nil {
		close(l.space)
		l.space = nil
	}
	l.spaceMu.Unlock()
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

// work is the worker loop of one generation.
func (l *lane[O, E]) work(g *generation[O, E], inh *abandoned[O, E]) {
	l.worker.Store(goid())
	l.busy.Store(true)
	l.timer.Reset(l.timeout)
	if inh != nil {
		l.seq = inh.seq
		l.settleAbandoned(inh)
	}
	for {
		if l.ctrlN.Load() > 0 {
			if !l.doControl(g) {
				return
			}
			continue
		}
		// A run's opening is queued on the control list before any of its
		// events, so an event of a run not yet opened means openings are
		// pending: take them first, in the order the runs started, rather
		// than open this run ahead of runs that started before it.
		if rl := l.q.peek(); rl != nil && !rl.opened && l.ctrlN.Load() > 0 {
			continue
		}
		if rl, ev, ok := l.q.pop(); ok {
			if l.spaceWaiters.Load() > 0 {
				l.signalSpace()
			}
			if !l.handle(g, rl, ev) {
				return
			}
			continue
		}
		select {
		case <-l.stopCh:
			l.exit(g)
			return
		default:
		}
		l.busy.Store(false)
		l.sleeping.Store(true)
		if l.q.ready() || l.ctrlN.Load() > 0 {
			l.sleeping.Store(false)
			l.awake()
			continue
		}
		select {
		case <-l.wake:
		case <-l.stopCh:
		}
		l.sleeping.Store(false)
		l.awake()
	}
}

// awake marks the worker busy and arms the watchdog. The watchdog stops
// re-arming itself once it sees the worker idle, so every return to work
// must arm it again, or a call made then would never be abandoned.
func (l *lane[O, E]) awake() {
	l.busy.Store(true)
	l.timer.Reset(l.timeout)
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

func (l *lane[O, E]) doControl(g *generation[O, E]) bool {
	for {
		it, ok := l.popControl()
		if !ok {
			return true
		}
		rl := it.rl
		if !it.end {
			if !rl.opened && !l.open(g, rl, thenNone) {
				return false
			}
			continue
		}
		rl.ending, rl.target = true, it.target
		if rl.processed == rl.target && !l.finish(g, rl) {
			return false
		}
	}
}

// handle delivers one queued event. It reports false when this generation[O, E]
// was abandoned and must exit.
func (l *lane[O, E]) handle(g *generation[O, E], rl *runLane[O, E], ev Event[E]) bool {
	if !rl.opened && !l.open(g, rl, thenRing) {
		return false
	}
	var bit uint64
	if ev.Scope != nil {
		bit = 1 << rl.idx
	}
	switch {
	case l.force.Load():
		rl.dropped()
		ev.Scope.skip(ev.Opens, bit)
	case rl.broken || ev.Scope.skipped(bit):
		rl.failed()
		ev.Scope.skip(ev.Opens, bit)
	case l.stuck.Load() > 0:
		rl.timedOut.Store(true)
		rl.failed()
		ev.Scope.skip(ev.Opens, bit)
	default:
		_, ok := l.call(g, rl, callDeliver, thenNone, ev)
		if !ok {
			return false
		}
	}
	return l.afterRing(g, rl)
}

func (l *lane[O, E]) afterRing(g *generation[O, E], rl *runLane[O, E]) bool {
	rl.processed++
	if rl.ending && rl.processed == rl.target {
		return l.finish(g, rl)
	}
	return true
}

// open calls Backend.Open for the run. The open event is counted once.
func (l *lane[O, E]) open(g *generation[O, E], rl *runLane[O, E], next then) bool {
	rl.opened = true
	switch {
	case l.force.Load():
		rl.broken = true
		rl.dropped()
		return true
	case l.stuck.Load() > 0:
		rl.broken = true
		rl.timedOut.Store(true)
		rl.failed()
		return true
	}
	sess, ok := l.call(g, rl, callOpen, next, Event[E]{})
	if !ok {
		return false
	}
	if sess == nil {
		rl.broken = true
	}
	rl.sess = sess
	return true
}

// finish delivers the run's end on this lane and accounts for it.
func (l *lane[O, E]) finish(g *generation[O, E], rl *runLane[O, E]) bool {
	if !rl.opened && !l.open(g, rl, thenFinish) {
		return false
	}
	switch {
	case l.force.Load():
		rl.dropped()
	case rl.broken:
		rl.failed()
	case l.stuck.Load() > 0:
		rl.timedOut.Store(true)
		rl.failed()
	default:
		if _, ok := l.call(g, rl, callClose, thenNone, Event[E]{}); !ok {
			return false
		}
	}
	l.settleFinished(rl)
	return true
}

func (l *lane[O, E]) settleFinished(rl *runLane[O, E]) {
	rl.sess = nil
	rl.finished.Store(true)
	r := rl.run
	if r.remaining.Add(-1) == 0 {
		l.p.runFinished(r)
		close(r.done)
	}
	l.release()
}

// call runs one backend call under the watchdog. It reports false when the
// call was abandoned: the generation must then exit without touching
// anything, as the next generation owns the lane.
func (l *lane[O, E]) call(g *generation[O, E], rl *runLane[O, E], what callKind, next then, ev Event[E]) (Session[E], bool) {
	l.seq++
	l.callRL, l.callWhat, l.callThen = rl, what, next
	l.deadline.Store(deadlineAfter(nanotime(), l.timeout))
	mark := l.seq << 2
	// Everything the call reads of rl is read before cur is published: once
	// the watchdog has seen the call in progress, it may hand rl to the next
	// generation, and this goroutine must no longer touch it.
	cur := rl.sess
	l.cur.Store(mark | 1)
	sess, err := l.invoke(g, rl.run, cur, what, ev)
	if !l.cur.CompareAndSwap(mark|1, mark) {
		l.stuck.Add(-1)
		l.p.abandoned.done()
		return nil, false
	}
	if what == callOpen && err == nil && sess == nil {
		err = fmt.Errorf("flowtrace: exporter %q, run %s: Open returned no session", l.name, rl.run.ID)
	}
	if err != nil {
		rl.failed()
		// The first error and the first panic of a run on this lane are
		// each reported: a panic is a bug to fix, not to hide behind an
		// earlier transient error.
		flag := &rl.failReported
		if errors.Is(err, l.p.errs.Panic) {
			flag = &rl.panicReported
		}
		if flag.CompareAndSwap(false, true) {
			rl.run.noteReport(l.p.report(err))
		}
		if what == callOpen {
			return nil, true
		}
		return sess, true
	}
	rl.delivered()
	return sess, true
}

// invoke makes one backend call. The backend's adapter names the call in
// its errors (and in the panics it recovers itself); the pipeline adds the
// lane and the run.
func (l *lane[O, E]) invoke(g *generation[O, E], run *Run[O, E], cur Session[E], what callKind, ev Event[E]) (sess Session[E], err error) {
	defer func() {
		if r := recover(); r != nil {
			sess = nil
			err = fmt.Errorf("%w: exporter %q, run %s: %v", l.p.errs.Panic, l.name, run.ID, r)
		}
	}()
	ctx := &g.call
	switch what {
	case callOpen:
		sess, err = l.backend.Open(ctx, run.Owner)
	case callDeliver:
		err = cur.Deliver(ctx, ev.Data)
	case callClose:
		err = cur.Deliver(ctx, run.end)
	}
	if err != nil {
		err = fmt.Errorf("flowtrace: exporter %q, run %s: %w", l.name, run.ID, err)
	}
	return sess, err
}

// abandoned describes the call a stuck generation was making.
type abandoned[O, E any] struct {
	rl   *runLane[O, E]
	what callKind
	then then
	seq  uint64
}

// watch is the watchdog, run by the lane's timer while the worker is busy.
func (l *lane[O, E]) watch() {
	c := l.cur.Load()
	if c&1 == 0 || c&2 != 0 {
		if l.busy.Load() {
			l.timer.Reset(l.timeout)
		}
		return
	}
	if rem := l.deadline.Load() - nanotime(); rem > 0 {
		l.timer.Reset(time.Duration(rem))
		return
	}
	// abandoned is counted before the abandonment is published: the stuck
	// call may return, see it and uncount itself at once. (stuck may dip
	// below zero for that moment; readers only test it for > 0.)
	l.p.abandoned.add()
	if !l.cur.CompareAndSwap(c, c|2) {
		l.p.abandoned.done()
		l.timer.Reset(l.timeout)
		return
	}
	l.stuck.Add(1)
	inh := &abandoned[O, E]{rl: l.callRL, what: l.callWhat, then: l.callThen, seq: c >> 2}
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
	go l.work(ng, inh) // owned by the Pipeline like the first generation[O, E]
}

// settleAbandoned accounts, in the new generation[O, E], for the call the stuck
// generation was making, and for what it would have done next.
func (l *lane[O, E]) settleAbandoned(a *abandoned[O, E]) {
	rl := a.rl
	rl.broken = true
	rl.timedOut.Store(true)
	rl.failed()
	switch a.what {
	case callOpen:
		rl.opened = true
		switch a.then {
		case thenRing:
			rl.failed()
			l.afterRing(nil, rl)
		case thenFinish:
			l.finish(nil, rl)
		}
	case callDeliver:
		l.afterRing(nil, rl)
	case callClose:
		l.settleFinished(rl)
	}
}

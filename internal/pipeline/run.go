package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/flowtrace/flowtrace/internal/goid"
)

// Run is one run's delivery state. Its events go to the lanes that were
// registered when it started.
type Run[O, E any] struct {
	// inline holds the run's state on its lane when it has only one, the
	// common case: no allocation of its own. It comes first, so that in a
	// Run first in its owner's record it keeps runLane's cache-line layout
	// (see runLane).
	inline [1]runLane[O, E]

	ID string
	// Owner is the caller's record of the run: what Backend.Open is told,
	// and what the caller finds in ActiveRuns to end open runs at
	// shutdown. Set by StartRun, never changed.
	Owner O

	end E // the run's end record, set by Close before its end is queued

	p            *Pipeline[O, E]
	gate         Gate
	lanes        []runLane[O, E]
	remaining    atomic.Int32
	dropReported atomic.Bool
	done         signal // every lane has accounted for the run

	lastReport atomic.Uint64 // number of the run's last report to the error handler

	abort signal // fired by Abort

	prev, next *Run[O, E] // in the pipeline's active runs; guarded by its mu
}

// Abort makes every write of the run that waits for room in a queue give
// up at once (its event dropped and counted), and every later one not
// wait. A closer whose deadline has passed calls it, so that the writes
// it waits for finish without waiting out the overflow policy.
func (r *Run[O, E]) Abort() { r.abort.fire() }

// runLane is a run's state on one lane. Fields without atomics belong to the
// lane's worker.
//
// The fields are laid out in two halves of 64 bytes: the first holds what
// the worker writes on every call, the second what producers read or
// write on every event. Sharing a cache line made each event move it
// between cores twice. A runLane starts at a line (a slice of them, in the
// size classes that are multiples of 64), or 8 bytes past one (Run.inline
// first in an allocation over 512 bytes, which Go gives an 8-byte header):
// either way, the worker's per-event fields (its first 64 bytes but the
// last two flags) and the producers' stay on separate lines.
// TestRunLaneLayout keeps the halves so.
type runLane[O, E any] struct {
	// The worker's line.
	c         counters
	sess      Session[E]
	processed uint64
	target    uint64
	st        rlState
	ending    bool

	// The producers' line, with flags the worker writes once in a run.
	run           *Run[O, E]
	lane          *lane[O, E]
	enqueued      atomic.Uint64 // events that entered the queue
	pdropped      atomic.Uint64 // events dropped before entering the queue
	ctrlEmitted   atomic.Uint64 // opening and closing, which never drop
	idx           uint8         // index in run.lanes: the lane's bit in a Scope
	timedOut      atomic.Bool
	failReported  atomic.Bool
	panicReported atomic.Bool
	finished      atomic.Bool // the run's end has been accounted for on the lane
}

// rlState is where a run stands on a lane, as the lane's worker sees it
// (see lane for the transitions).
type rlState uint8

const (
	rlPending  rlState = iota // its opening not taken yet
	rlDeferred                // opening taken during a stall: Open not called yet
	rlAwaiting                // its Open was abandoned: waits for what that call returns
	rlOpen                    // sess is the backend's session for the run
	rlBroken                  // no session: Open failed, or the lane was forced
)

// The worker counts an event of the run on the run and on the lane.
// The run's counters and the lane's delivered and failed counts have one
// writer, the lane's current worker generation, so they are bumped with a
// load and a store rather than a locked add; readers still load them
// atomically. The lane's dropped count is shared with producers
// (droppedOutside).
func (rl *runLane[O, E]) delivered() { bump(&rl.c.delivered); bump(&rl.lane.delivered) }
func (rl *runLane[O, E]) dropped()   { bump(&rl.c.dropped); rl.lane.dropped.Add(1) }
func (rl *runLane[O, E]) failed()    { bump(&rl.c.failed); bump(&rl.lane.failed) }

// bump adds one to a counter that only the caller writes.
func bump(c *atomic.Uint64) { c.Store(c.Load() + 1) }

// emittedOutside counts an opening or closing of the run.
func (rl *runLane[O, E]) emittedOutside() { rl.ctrlEmitted.Add(1); rl.lane.outside.Add(1) }

// droppedOutside counts an event dropped before it entered the queue.
func (rl *runLane[O, E]) droppedOutside() {
	rl.pdropped.Add(1)
	rl.lane.outside.Add(1)
	rl.lane.dropped.Add(1)
}

func (rl *runLane[O, E]) counts() Delivery {
	return Delivery{
		Emitted:   rl.enqueued.Load() + rl.pdropped.Load() + rl.ctrlEmitted.Load(),
		Delivered: rl.c.delivered.Load(),
		Dropped:   rl.pdropped.Load() + rl.c.dropped.Load(),
		Failed:    rl.c.failed.Load(),
	}
}

// noteReport records that report number n (see reporter.report) concerns
// the run, so that Wait returns only once the handler has been told.
func (r *Run[O, E]) noteReport(n uint64) {
	for {
		old := r.lastReport.Load()
		if n <= old || r.lastReport.CompareAndSwap(old, n) {
			return
		}
	}
}

// Done returns a channel closed when every lane has accounted for all the
// run's events.
func (r *Run[O, E]) Done() <-chan struct{} { return r.done.C() }

// Ended reports whether End has been called.
func (r *Run[O, E]) Ended() bool { return r.gate.Closed() }

// Enter admits a write to the run; it reports false once the run has
// ended. Refused writes are not counted here: the caller knows which scope
// refused them and counts them with CountLate, once. An admitted writer
// calls Leave when done.
func (r *Run[O, E]) Enter() bool { return r.gate.Enter() }

// CountLate counts a write that arrived after its scope ended.
func (r *Run[O, E]) CountLate() { r.p.late.Add(1) }

// Leave ends a write admitted by Enter.
func (r *Run[O, E]) Leave() { r.gate.Leave() }

// Emit queues ev on every lane of the run. The caller holds Enter. ctx is
// consulted only when the overflow policy would make the caller wait.
//
// It returns the report of the run's first drop, if this call made it, for
// the caller to pass to Report once it has left the run and its scope: the
// error handler is the caller's code, and may end the very scope the
// caller is holding.
func (r *Run[O, E]) Emit(ctx context.Context, ev Event[E]) error {
	var report error
	var w waitBudget // the overflow policy's wait, shared by every lane
	for i := range r.lanes {
		if err := r.lanes[i].emit(ctx, i, ev, &w); err != nil {
			report = err
		}
	}
	w.stop()
	return report
}

// Report passes err, returned by Emit, to the error handler. It does
// nothing for nil.
func (r *Run[O, E]) Report(err error) {
	if err != nil {
		r.p.cfg.OnError(err)
	}
}

// inOwnDelivery reports whether the caller runs inside a backend call on
// one of the run's lanes: that lane delivers nothing more of any run until
// the caller returns, so waiting for it would wait for ourselves. ctx
// answers cheaply when it was handed by that call; otherwise the
// goroutine is compared with the workers of the lanes that are in a call.
func (r *Run[O, E]) inOwnDelivery(ctx context.Context) bool {
	if ctx != nil {
		if l, ok := ctx.Value(deliveringKey{}).(*lane[O, E]); ok {
			for i := range r.lanes {
				if r.lanes[i].lane == l {
					return true
				}
			}
		}
	}
	var g int64
	for i := range r.lanes {
		l := r.lanes[i].lane
		if l.cur.Load()&3 != 1 { // not in a call, or abandoned
			continue
		}
		if g == 0 {
			g = goid.Get()
		}
		if l.worker.Load() == g {
			return true
		}
	}
	return false
}

func (rl *runLane[O, E]) emit(ctx context.Context, i int, ev Event[E], w *waitBudget) error {
	var bit uint64
	if ev.Scope != nil {
		bit = 1 << i
		if ev.Scope.dropped.Load()&bit != 0 {
			rl.droppedOutside()
			return nil
		}
	}
	l := rl.lane
	if l.q.push(rl, ev) || l.retryPush(ctx, rl, ev, w) {
		rl.enqueued.Add(1)
		if l.sleeping.Load() {
			l.signal()
		}
		return nil
	}
	rl.droppedOutside()
	if ev.Opens && bit != 0 {
		ev.Scope.dropped.Or(bit)
	}
	if rl.run.dropReported.CompareAndSwap(false, true) {
		return fmt.Errorf("%w: exporter %q, run %s (queue size %d; further drops of this run are counted, not reported)",
			l.p.errs.QueueFull, l.name, rl.run.ID, l.q.capacity())
	}
	return nil
}

// Close closes the run to writes, waits for the writes in progress (each
// bounded by the overflow policy) and queues the run's end on every lane,
// end is the record its sessions receive last. It reports false if the run was already
// closed.
func (r *Run[O, E]) Close(ctx context.Context, end E) bool {
	if r.inOwnDelivery(ctx) {
		// Writers waiting for room would wait for the caller's own
		// lane: they give up instead.
		r.Abort()
	}
	if !r.gate.CloseAndWait() {
		return false
	}
	r.end = end
	if len(r.lanes) == 0 {
		r.p.runFinished(r) // nothing to deliver: finished as soon as closed
	}
	for i := range r.lanes {
		rl := &r.lanes[i]
		rl.emittedOutside()
		rl.lane.control(ctrlItem[O, E]{rl: rl, end: true, target: rl.enqueued.Load()})
	}
	return true
}

// Wait waits until every lane has accounted for all of the closed run's
// events, or until ctx is done, and returns the run's delivery per lane.
func (r *Run[O, E]) Wait(ctx context.Context) ([]LaneDelivery, error) {
	err := r.WaitErr(ctx)
	return r.Summary(), err
}

// WaitErr is Wait without the summary, for a caller that reads the run's
// delivery with Lanes and Delivery rather than allocate it.
func (r *Run[O, E]) WaitErr(ctx context.Context) error {
	if r.done.Fired() {
		return r.finished(ctx)
	}
	if r.inOwnDelivery(ctx) {
		return r.p.errs.InDelivery
	}
	if err := ctx.Err(); err != nil { // done already: no channel to make
		return r.pendingError(err)
	}
	select {
	case <-r.done.C():
	case <-ctx.Done():
		return r.pendingError(ctx.Err())
	}
	return r.finished(ctx)
}

// Await waits, like Wait, until every lane has accounted for all of the
// closed run's events, or until ctx is done; only the latter is an error
// (naming the lanes still delivering). What the run lost to a call the
// watchdog abandoned is not: that was reported when the call was
// abandoned, and a closer such as Shutdown answers ErrExportTimeout only
// for a call still running (see Pipeline.Shutdown), so that the same
// state gets the same answer however often it is asked.
func (r *Run[O, E]) Await(ctx context.Context) error {
	if r.done.Fired() {
		return nil
	}
	if r.inOwnDelivery(ctx) {
		return r.p.errs.InDelivery
	}
	if err := ctx.Err(); err != nil { // done already: no channel to make
		return r.pendingError(err)
	}
	select {
	case <-r.done.C():
		return nil
	case <-ctx.Done():
		return r.pendingError(ctx.Err())
	}
}

// finished is Wait's error once every lane has accounted for the run: the
// error handler has been told of the run's failures before it returns.
func (r *Run[O, E]) finished(ctx context.Context) error {
	err := r.timeoutError()
	if werr := r.p.rep.waitFor(ctx, r.lastReport.Load()); werr != nil {
		err = errors.Join(err, werr)
	}
	return err
}

// Summary returns the run's delivery per lane, in registration order.
func (r *Run[O, E]) Summary() []LaneDelivery {
	out := make([]LaneDelivery, len(r.lanes))
	for i := range r.lanes {
		out[i] = r.Delivery(i)
	}
	return out
}

// Lanes returns the number of the run's lanes.
func (r *Run[O, E]) Lanes() int { return len(r.lanes) }

// Delivery returns the run's delivery on its lane i (0 ≤ i < Lanes()).
func (r *Run[O, E]) Delivery(i int) LaneDelivery {
	return LaneDelivery{Name: r.lanes[i].lane.name, Delivery: r.lanes[i].counts()}
}

// pendingError names the lanes still delivering the run, wrapping cause.
// Its message is formatted only when asked for: a closer that does not
// wait (tracing.Middleware's) drops it unread.
func (r *Run[O, E]) pendingError(cause error) error {
	var first *pendingLane
	var errs []error
	for i := range r.lanes {
		rl := &r.lanes[i]
		d := rl.counts()
		if pending := d.Emitted - d.Delivered - d.Dropped - d.Failed; pending > 0 || !rl.finished.Load() {
			e := &pendingLane{lane: rl.lane.name, pending: pending, run: r.ID, state: rl.lane.state(), cause: cause}
			if first == nil {
				first = e
				continue
			}
			if errs == nil {
				errs = append(errs, first)
			}
			errs = append(errs, e)
		}
	}
	switch {
	case first == nil:
		return cause
	case errs == nil:
		return first
	}
	return errors.Join(errs...)
}

// pendingLane is the error of a wait that ended with a lane still
// delivering the run.
type pendingLane struct {
	lane    string
	pending uint64
	run     string
	state   string
	cause   error
}

func (e *pendingLane) Error() string {
	return fmt.Sprintf("flowtrace: exporter %q: %d events of run %s not yet delivered (%s): %v",
		e.lane, e.pending, e.run, e.state, e.cause)
}

func (e *pendingLane) Unwrap() error { return e.cause }

func (r *Run[O, E]) timeoutError() error {
	var errs []error
	for i := range r.lanes {
		rl := &r.lanes[i]
		if rl.timedOut.Load() {
			errs = append(errs, fmt.Errorf("%w: exporter %q: events of run %s failed because a call was abandoned",
				r.p.errs.ExportTimeout, rl.lane.name, r.ID))
		}
	}
	return errors.Join(errs...)
}

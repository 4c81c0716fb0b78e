package flowtrace

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// This file is the lifecycle of a scope: a component's, or a run's own.
// Writes (AddLog, SetOutputs, ... in component.go and model.go) only enter
// and leave a scope; everything that changes its state is here.
//
// A component:
//
//	TraceComponent ──► open ──── End, no hold open ─────────────► ended
//	                    │                                           ▲ ▲
//	                    │ End while held (pending set)              │ │
//	                    ▼                                           │ │
//	                 pending ── last release of a hold, ────────────┘ │
//	                            or the run's close, with End's        │
//	                            error and time                        │
//	                                                                  │
//	   open ───────────────── the run's close, forced ────────────────┘
//	                          (ErrComponentNotEnded; suspended, no
//	                          error, when the run is suspended)
//
//	TraceComponent refused (run or parent ended) ──► skipped
//
//   - open: linked in its run's open list, its gate open. Writes enter
//     the gate; holds may be taken on it.
//   - pending: its caller's End (or EndAt) came while holds were open. It
//     has ended for its caller: ComponentByID, LatestComponent and the
//     duplicate check of TraceComponent pass it by. Its gate stays open,
//     so the holders' writes are not late. Its End's error and time are
//     kept in pending; whoever ends it — the last release, or the run's
//     close if it comes first — ends it with them.
//   - ended: its gate closed (after the writers inside have left),
//     unlinked, its end record queued. forced marks an end by the run's
//     close rather than by its caller: a later End then counts as late
//     rather than as a second End.
//   - skipped: a refused start, a marker in the ctx returned: its gate is
//     closed from the start, it is never linked, delivered nor ended.
//
// A run:
//
//	StartTracers ──► open ── EndTracers / SuspendTracers ──► closing ──► closed ──► finished
//	                  │ ▲      / Shutdown (waitHolds first)    │
//	   Hold, release ─┘ └─ nholds                        │
//	                        ends every open component ─────────────┘
//
//   - open: its gate (the pipeline run's) admits writes to the run's own
//     scope; components start in it; holds are taken on it (nholds).
//     EndTracers and Shutdown first wait in waitHolds, the run still
//     open, until nholds is 0 (the last release closes holds.free), their
//     ctx is done, or another call closes the run (which closes holds.free
//     too: an EndTracers woken so by Shutdown reports ErrShutdown, not a
//     second end). Called from inside an exporter's call or from the
//     error handler (awaitHolds), EndTracers does not wait for holds at all, nor does Shutdown called
//     there or from the error handler (endRuns). Shutdown closes the runs
//     without holds first, and waits for the holds of the others
//     together.
//   - closing: set under mu by close, once, with byShutdown telling who
//     closed it. No component starts, no hold is taken and no End is
//     deferred any more; each open component is ended, innermost first:
//     a pending one with its End, the others forced (endForced), or,
//     when SuspendTracers closes the run (closeSuspend), suspended
//     (endSuspended: no error, ComponentEnd.Suspended).
//   - closed: the pipeline run's gate is closed (pr.Ended) and the run's
//     end is queued, after every component's end. Writes are late.
//   - finished: every exporter has accounted for the run (pr.Done).
//
// Locks: the run's mu guards the open list, closing, the holds and each
// component's pending. No caller code (error handler, exporter) runs under
// it: an End's error is recorded before it is deferred, and reports are
// made after unlocking.

// enter admits a write to the scope c. It reports false, having counted
// the write as late, once the scope has ended. An admitted writer calls
// leave.
//
// A write to a component enters the component's gate only, not the run's:
// the run cannot end under it. Ending a run first ends each of its open
// components, and ending a component (by its caller or by the run) holds
// the run's gate while it waits for the writers in the component's gate;
// a component that is not in the run's open list has its gate closed. So
// the run's gate, which every goroutine of the run would share, is entered
// only by writes to the run's own scope and by ends.
func (c *Component) enter() bool {
	rs := c.run
	if c.isRun {
		if !rs.pr().Enter() {
			rs.late(nil)
			return false
		}
		return true
	}
	if !c.own.gate.Enter() {
		rs.late(c)
		return false
	}
	return true
}

// leave ends a write admitted by enter.
func (c *Component) leave() {
	if c.isRun {
		c.run.pr().Leave()
		return
	}
	c.own.gate.Leave()
}

// skip makes c the marker of a refused start: closed to writes, never
// delivered, never ended.
func (c *Component) skip() {
	c.skipped = true
	c.own.gate.Close()
}

// noRelease is the release of a Hold that holds nothing.
func noRelease() {}

// hold is one open Hold; it lives in its run's list until released.
type hold struct {
	scope      *Component
	prev, next *hold
	// free, in the run's sentinel only, is closed, while a call waits for
	// the holds, when nholds drops to 0 or the run closes. (In the
	// sentinel rather than the run: most runs never take a hold.)
	free chan struct{}
}

func (rs *runState) hold(sc *Component) func() {
	h := &hold{scope: sc}
	rs.mu.Lock()
	if rs.closing || sc.skipped { // a run ending, or a start refused: nothing to hold
		rs.mu.Unlock()
		rs.late(nil)
		return noRelease
	}
	if rs.holds == nil { // the run's first hold: a list of its own, kept until the run is gone
		rs.holds = new(hold)
		rs.holds.prev, rs.holds.next = rs.holds, rs.holds
	}
	h.prev, h.next = rs.holds.prev, rs.holds
	rs.holds.prev.next = h
	rs.holds.prev = h
	rs.nholds++
	if !sc.isRun {
		sc.holds.Add(1)
	}
	rs.mu.Unlock()
	var once atomicOnce
	return func() {
		if !once.do() {
			return
		}
		rs.mu.Lock()
		h.prev.next, h.next.prev = h.next, h.prev
		var pend *pendingEnd
		if !sc.isRun && sc.holds.Add(-1) == 0 {
			pend = sc.own.pending
		}
		if pend != nil {
			// The component's End came first: end it now, before the run
			// counts this hold released, so that EndTracers, waiting for
			// the holds, finds it ended rather than ending it itself. A
			// run closing meanwhile carries out the same End.
			rs.mu.Unlock()
			sc.end(rs.pr(), pend.err, pend.at, endPending)
			rs.mu.Lock()
		}
		rs.nholds--
		var wake chan struct{}
		if rs.nholds == 0 && rs.holds.free != nil {
			wake, rs.holds.free = rs.holds.free, nil
		}
		rs.mu.Unlock()
		if wake != nil {
			close(wake)
		}
	}
}

// waitHolds waits until the run has no open hold, or ctx is done; then it
// returns an error naming the holds still open.
//
// A run already closing has had its holds waited for (or reported) by the
// call that closed it: waitHolds returns nil at once, and as soon as
// another call closes the run while it waits.
func (rs *runState) waitHolds(ctx context.Context) error {
	for {
		rs.mu.Lock()
		if rs.nholds == 0 || rs.closing {
			rs.mu.Unlock()
			return nil
		}
		if rs.holds.free == nil { // nholds > 0: the sentinel exists
			rs.holds.free = make(chan struct{})
		}
		wait := rs.holds.free
		rs.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return rs.openHolds(ctx.Err())
		}
	}
}

// holdsToWaitFor reports whether the run has holds open and is not
// closing: whether EndTracers or Shutdown would wait for them.
func (rs *runState) holdsToWaitFor() bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.nholds > 0 && !rs.closing
}

// awaitHolds is EndTracers' wait for the run's holds (see waitHolds). Called
// from inside a call of one of the run's exporters, it waits for nothing
// and reports the holds still open: that exporter's lane delivers nothing
// while its call waits, and the holder may be waiting for room in its
// queue. The in-delivery rule comes before any wait. Nor does it wait
// from inside the error handler, for the reason Shutdown does not (see
// endRuns): the hold may be the one of the goroutine the handler runs on.
func (rs *runState) awaitHolds(ctx context.Context) error {
	if !rs.holdsToWaitFor() {
		return nil
	}
	if rs.svc.handlers.self() || inDelivery(ctx, rs.pr()) {
		return rs.openHolds(ErrInDelivery)
	}
	return rs.waitHolds(ctx)
}

// inDelivery reports whether the caller runs inside a call of one of the
// exporters of the run pr, by ctx (an exporter's ctx marks its call) or by
// goroutine. The pipeline answers it only as the error of a Wait that
// would wait for the caller's own lane, so it is asked with a Wait whose
// ctx has ctx's values and is done already: it never waits.
func inDelivery(ctx context.Context, pr *deliveryRun) bool {
	_, err := pr.Wait(doneCtx{ctx})
	return errors.Is(err, ErrInDelivery)
}

// doneCtx is a ctx with the values of the one it wraps, done from the start.
type doneCtx struct{ context.Context }

func (doneCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (doneCtx) Done() <-chan struct{}       { return closedChan }
func (doneCtx) Err() error                  { return context.Canceled }

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// endRuns closes the runs still open at Shutdown, with ErrShutdown, and
// returns the errors naming the holds they ended with. No run's holds
// spend another run's time: a run without holds is closed at once, and the
// runs with holds are waited for together, each closed as soon as its own
// are released; when ctx is done, those left are closed with their holds
// still open. Called from inside an exporter's call or from the error
// handler, endRuns waits for no hold (see awaitHolds; the handler would
// hear of nothing else meanwhile) and closes every run at once.
func (s *TraceService) endRuns(ctx context.Context, runs []*deliveryRun) []error {
	var held []*deliveryRun
	for _, r := range runs {
		if r.Owner.holdsToWaitFor() {
			held = append(held, r)
			continue
		}
		r.Owner.close(ctx, r, nil, ErrShutdown, r.Owner.now(), closeShutdown)
	}
	if len(held) == 0 {
		return nil
	}
	var errs []error
	if s.handlers.self() || inAnyDelivery(ctx, runs) {
		for _, r := range held {
			if err := r.Owner.openHolds(ErrInDelivery); err != nil {
				errs = append(errs, err)
			}
			r.Owner.close(ctx, r, nil, ErrShutdown, r.Owner.now(), closeShutdown)
		}
		return errs
	}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for _, r := range held {
		wg.Go(func() { // owned by this Shutdown, which waits for it below
			err := r.Owner.waitHolds(ctx)
			r.Owner.close(ctx, r, nil, ErrShutdown, r.Owner.now(), closeShutdown)
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}

// inAnyDelivery reports whether the caller runs inside a call of one of
// the exporters of runs.
func inAnyDelivery(ctx context.Context, runs []*deliveryRun) bool {
	for _, r := range runs {
		if inDelivery(ctx, r) {
			return true
		}
	}
	return false
}

func (rs *runState) openHolds(cause error) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.nholds == 0 {
		return nil
	}
	var where []string
	for h := rs.holds.next; h != rs.holds && len(where) < 10; h = h.next {
		if h.scope.isRun {
			where = append(where, "the run itself")
		} else {
			where = append(where, fmt.Sprintf("component %s (%s)", h.scope.info().ComponentID, h.scope.info().Name))
		}
	}
	return fmt.Errorf("run %s: %w: %d, taken in %s: %w", rs.info.RunID, ErrHoldsOpen, rs.nholds, strings.Join(where, ", "), cause)
}

// endBy is an end asked for by the component's caller: now, or when the
// last hold on the component is released. The error is recorded first:
// recording runs the caller's code (its Error method, a Redactor), which
// must not run while the run is held open, or a concurrent EndTracers or
// Shutdown would wait for it past its deadline.
func (c *Component) endBy(err error, at time.Time) {
	rec := c.run.recordErr(err)
	if c.holds.Load() > 0 && c.deferEnd(rec, at) {
		return
	}
	c.end(c.run.pr(), rec, at, endByCaller)
}

// pendingEnd is an End waiting for the holds on its component. It is set
// once and never changed: the last release and the run's close may both
// carry it out, and whichever closes the gate first ends the component
// with it.
type pendingEnd struct {
	err error // recorded
	at  time.Time
}

// deferEnd leaves the end to the last release of a hold on c, and reports
// whether it did; false when no hold is left by now, or when the run is
// closing (which ends its components without waiting for holds).
func (c *Component) deferEnd(rec error, at time.Time) bool {
	rs := c.run
	rs.mu.Lock()
	if c.holds.Load() == 0 || c.own.gate.Closed() || rs.closing { // nothing to wait for, or ended already (forced, say)
		rs.mu.Unlock()
		return false
	}
	second := c.own.pending != nil
	if !second {
		c.own.pending = &pendingEnd{err: rec, at: at}
	}
	rs.mu.Unlock()
	if second {
		rs.svc.onError(fmt.Errorf("End of component %s (%s) in run %s: %w", c.info().ComponentID, c.info().Name, rs.info.RunID, ErrComponentEnded))
	}
	return true
}

// endKind says who ends a component, for end.
type endKind uint8

const (
	endByCaller  endKind = iota // End or EndAt, with no hold open
	endPending                  // a pending End, by the last release or the run's close
	endForced                   // the run's close, the component still open: ErrComponentNotEnded
	endSuspended                // the run's suspension, the component still open: Suspended, no error
)

// closeKind says who closes a run, for close.
type closeKind uint8

const (
	closeEnd      closeKind = iota // EndTracers
	closeSuspend                   // SuspendTracers: the run and its open components end suspended
	closeShutdown                  // Shutdown
)

// end closes the component to writes, waits for the writes in progress and
// queues its end; err is already recorded (see recordErr). It holds the run
// open meanwhile, so that a run ending concurrently waits for this end
// instead of losing it. Of concurrent ends, the first to close the gate
// records its own; a later one by the caller is a second End (or late,
// after a forced end), the others are silent.
func (c *Component) end(pr *deliveryRun, err error, now time.Time, how endKind) {
	rs := c.run
	inRun := pr.Enter()
	if how == endForced || how == endSuspended {
		c.forced.Store(true)
	}
	if !c.own.gate.CloseAndWait() {
		if inRun {
			pr.Leave()
		}
		switch {
		case how != endByCaller:
		case c.forced.Load() || c.skipped:
			// Ended by EndTracers or Shutdown first (work that outlived
			// its run), or never started: late, like any write after an end.
			rs.late(c)
		default:
			rs.svc.onError(fmt.Errorf("End of component %s (%s) in run %s: %w", c.info().ComponentID, c.info().Name, rs.info.RunID, ErrComponentEnded))
		}
		return
	}
	rs.mu.Lock()
	rs.open.remove(c)
	rs.mu.Unlock()
	if !inRun {
		pr.CountLate() // unreachable while EndTracers ends open components first
		return
	}
	streamed := c.emitStream(&c.ctx, pr, now) // what its Stream joined, before its end
	// The end record is built here, on the caller's goroutine, and never
	// changed once queued: the worker reads only records, never the live
	// component. It is kept in the component's tail to spare an allocation.
	rec := &c.tailOf(false).end
	*rec = ComponentEnd{RunID: c.run.info.RunID, ComponentID: c.info().ComponentID, Err: err, Suspended: how == endSuspended, Time: now}
	report := pr.Emit(&c.ctx, event{Data: rec, Scope: &c.own.scope})
	pr.Leave()
	pr.Report(streamed)
	pr.Report(report)
}

// close ends the open components, innermost first, then closes the run to
// writes and queues its end, how telling who closes it. It reports
// false if the run was already closing. It wakes the calls waiting for the
// run's holds: the run they wait to close is closed.
// pr is the run's pipeline record: Shutdown may close a run before
// StartTracers has stored it in rs.
//
// Closing waits for the writes in progress, each bounded by the overflow
// policy; once ctx is done, those still waiting for room give up, so that
// closing returns soon after ctx's deadline whatever BlockFor is.
func (rs *runState) close(ctx context.Context, pr *deliveryRun, outputs map[string]any, runErr error, now time.Time, how closeKind) bool {
	switch {
	case ctx.Err() != nil: // done already (tracing.Middleware's): no watch, no goroutine
		pr.Abort()
	case ctx.Done() != nil: // a ctx that can never be done needs no watch
		defer context.AfterFunc(ctx, pr.Abort)()
	}
	rs.mu.Lock()
	if rs.closing {
		rs.mu.Unlock()
		return false
	}
	rs.closing = true // from now on no End is deferred: pending is final
	rs.byShutdown = how == closeShutdown
	var wake chan struct{}
	if rs.holds != nil {
		wake, rs.holds.free = rs.holds.free, nil
	}
	type ending struct {
		c    *Component
		pend *pendingEnd
	}
	var open []ending
	for c := rs.open.last; c != nil; c = c.own.prev {
		open = append(open, ending{c, c.own.pending})
	}
	rs.mu.Unlock()
	if wake != nil {
		close(wake)
	}
	for _, e := range open {
		if e.pend != nil { // its caller ended it: its End wins over a forced one
			e.c.end(pr, e.pend.err, e.pend.at, endPending)
			continue
		}
		if how == closeSuspend {
			e.c.end(pr, nil, now, endSuspended)
			continue
		}
		e.c.end(pr, ErrComponentNotEnded, now, endForced)
	}
	if pr.Enter() { // the run's own Stream, before its end
		streamed := rs.root.emitStream(ctx, pr, now)
		pr.Leave()
		pr.Report(streamed)
	}
	end, kv := withKVs[RunEnd](len(outputs)) // the record and its outputs, one allocation
	*end = RunEnd{RunID: rs.info.RunID, Suspended: how == closeSuspend, Time: now}
	var p pass
	rs.write(ctx, nil, event{}, &p, func() { p.fields(&end.Outputs, outputs, kv) }) // queued by Close
	end.Err = rs.recordErr(runErr)
	return pr.Close(ctx, end)
}

// late counts a write through an ended scope and reports the run's first.
func (rs *runState) late(c *Component) {
	rs.pr().CountLate()
	if !rs.lateReported.CompareAndSwap(false, true) {
		return
	}
	if c != nil {
		rs.svc.onError(fmt.Errorf("write through component %s (%s) of run %s after it ended: %w; later late writes of the run are counted, not reported",
			c.info().ComponentID, c.info().Name, rs.info.RunID, ErrComponentEnded))
		return
	}
	rs.svc.onError(fmt.Errorf("write through run %s after it ended: %w; later late writes of the run are counted, not reported", rs.info.RunID, ErrRunEnded))
}

// link adds c, just started with the caller's ID id ("" for none), to the
// run's open components, and reports whether id was a duplicate: the ID of
// a component open for its caller. The caller holds rs.mu.
//
// Two open components with one ID could not be told apart by exporters
// (nor by ComponentByID): a duplicate gets an ID of its own, made from its
// span ID, and is found by that ID. A pending component has ended for its
// caller, so its ID is free again, and the new component is found by it;
// but exporters see the pending one open until its last hold is released,
// so the new one's records carry an ID of its own all the same.
func (rs *runState) link(c *Component, id string, spanID [8]byte) (dup bool) {
	key := c.info().ComponentID
	if id != "" {
		if old := rs.open.lookup(id); old != nil {
			c.info().ComponentID = hex.EncodeToString(spanID[:])
			if dup = old.own.pending == nil; dup {
				key = c.info().ComponentID
			}
		}
	}
	rs.open.push(c, key)
	return dup
}

// openList is the list of a run's open components, oldest first, linked
// through the components themselves. Its zero value is an empty list. It
// is guarded by the run's mu.
//
// A head of two pointers rather than a sentinel Component keeps an open
// run a third smaller. Runs whose engine names its components (ComponentInfo.ID)
// also get an index by ID, made the first time one is named, so that
// finding a component by ID (ComponentByID, the duplicate check of
// TraceComponent) does not walk every open component: an engine with
// thousands of calls in flight would otherwise pay for each of them on
// every start.
type openList struct {
	first, last *Component
	maps        *openMaps // nil until a component is looked up or renamed: most runs never are
}

type openMaps struct {
	byID map[string]*Component // nil until a component is named
	// renamed holds the ID a component is found by where it is not its
	// ComponentID (see link); nil until there is one.
	renamed map[*Component]string
}

// m returns the list's maps, made by the first caller.
func (l *openList) m() *openMaps {
	if l.maps == nil {
		l.maps = new(openMaps)
	}
	return l.maps
}

// key returns the ID c is found by.
func (l *openList) key(c *Component) string {
	if l.maps != nil {
		if id, ok := l.maps.renamed[c]; ok {
			return id
		}
	}
	return c.info().ComponentID
}

// push appends c, which is in no list, to be found by key.
func (l *openList) push(c *Component, key string) {
	c.own.prev, c.own.next = l.last, nil
	if l.last != nil {
		l.last.own.next = c
	} else {
		l.first = c
	}
	l.last = c
	c.linked = true
	if key != c.info().ComponentID {
		m := l.m()
		if m.renamed == nil {
			m.renamed = make(map[*Component]string)
		}
		m.renamed[c] = key
	}
	if l.maps != nil && l.maps.byID != nil {
		l.maps.byID[key] = c
	}
}

// remove unlinks c if it is in the list.
func (l *openList) remove(c *Component) {
	if !c.linked {
		return
	}
	if c.own.prev != nil {
		c.own.prev.own.next = c.own.next
	} else {
		l.first = c.own.next
	}
	if c.own.next != nil {
		c.own.next.own.prev = c.own.prev
	} else {
		l.last = c.own.prev
	}
	c.own.prev, c.own.next, c.linked = nil, nil, false
	m := l.maps
	if m == nil {
		return
	}
	if key := l.key(c); m.byID != nil && m.byID[key] == c {
		delete(m.byID, key)
		if _, ok := m.renamed[c]; ok {
			// c took the ID of a pending component, which may still be
			// linked: it is found by the ID again, so that the next start
			// with that ID is given one of its own too.
			for o := l.last; o != nil; o = o.own.prev {
				if l.key(o) == key {
					m.byID[key] = o
					break
				}
			}
		}
	}
	delete(m.renamed, c)
}

// lookup returns the open component found by id, the latest started when
// two are, or nil. The first lookup indexes the list.
func (l *openList) lookup(id string) *Component {
	m := l.m()
	if m.byID == nil {
		m.byID = make(map[string]*Component)
		for c := l.first; c != nil; c = c.own.next {
			m.byID[l.key(c)] = c
		}
	}
	return m.byID[id]
}

// closedByShutdown reports whether Shutdown closed the run.
func (rs *runState) closedByShutdown() bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.closing && rs.byShutdown
}

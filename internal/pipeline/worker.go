package pipeline

import (
	"errors"
	"fmt"

	"github.com/flowtrace/flowtrace/internal/goid"
)

// deliveringKey marks the context handed to backend calls, so that a backend
// calling back into the library from its worker is never made to wait for
// that same worker.
type deliveringKey struct{}

// testHookBeforeTake, set only by tests, runs on the worker between its
// look at the queue's head and its taking of an item: a test forces there
// the interleaving of producers that load can only make likely.
var testHookBeforeTake func()

type callKind uint8

const (
	callOpen callKind = iota
	callDeliver
	callClose
)

// work is the worker loop of one generation.
func (l *lane[O, E]) work(g *generation[O, E], inh *abandoned[O, E]) {
	l.worker.Store(goid.Get())
	l.busy.Store(true)
	l.timer.Reset(l.watchEvery())
	if inh != nil {
		l.seq = inh.seq
		if !l.settleAbandoned(g, inh) {
			return
		}
	}
	for {
		if !l.settle(g) {
			return
		}
		if l.ctrlN.Load() > 0 {
			if !l.doControl(g) {
				return
			}
			continue
		}
		// A run's opening is queued on the control list before any of its
		// events, so an event of a run not yet opened means openings are
		// pending: take them first, in the order the runs started, rather
		// than open this run ahead of runs that started before it. The
		// look and the take are about one item: an event queued after the
		// look, for a run whose opening came after it, waits for the next
		// look.
		rl, ev, ok := l.q.front()
		if ok && rl.st == rlPending && l.ctrlN.Load() > 0 {
			continue
		}
		if testHookBeforeTake != nil {
			testHookBeforeTake()
		}
		if ok {
			l.q.advance()
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
		if l.q.ready() || l.ctrlN.Load() > 0 || l.resumable() {
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
	l.timer.Reset(l.watchEvery())
}

// handle delivers one queued event. It reports false when this generation
// was abandoned and must exit. The run's opening has been taken: it was
// on the control list before any of the run's events, and the worker
// takes the control list first.
func (l *lane[O, E]) handle(g *generation[O, E], rl *runLane[O, E], ev Event[E]) bool {
	if !l.settle(g) {
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
	case rl.st == rlPending:
		// A bug, and one that must not reach the backend: the worker
		// takes a run's opening, queued before any of its events, ahead
		// of them (see work), and has no session to deliver to.
		rl.failed()
		ev.Scope.skip(ev.Opens, bit)
		if rl.failReported.CompareAndSwap(false, true) {
			rl.run.noteReport(l.p.report(fmt.Errorf("flowtrace: exporter %q, run %s: internal error: an event taken before the run was opened; failed, not delivered", l.name, rl.run.ID)))
		}
	case rl.st == rlBroken || ev.Scope.skipped(bit):
		rl.failed()
		ev.Scope.skip(ev.Opens, bit)
	case rl.st != rlOpen || l.stalled():
		rl.timedOut.Store(true)
		rl.failed()
		ev.Scope.skip(ev.Opens, bit)
	default:
		if _, ok := l.call(g, rl, callDeliver, ev); !ok {
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

// open takes the run's opening: it calls Backend.Open, or, while the lane
// is stalled, defers the call until the stall is over (see resume).
func (l *lane[O, E]) open(g *generation[O, E], rl *runLane[O, E]) bool {
	if !l.settle(g) {
		return false
	}
	if !l.force.Load() && l.stalled() {
		rl.st = rlDeferred
		l.deferred = append(l.deferred, rl)
		return true
	}
	return l.openNow(g, rl)
}

// openNow calls Backend.Open for the run. The opening is counted once:
// here, or by finish for a run that ends deferred.
func (l *lane[O, E]) openNow(g *generation[O, E], rl *runLane[O, E]) bool {
	if l.force.Load() {
		rl.st = rlBroken
		rl.dropped()
		return true
	}
	sess, ok := l.call(g, rl, callOpen, Event[E]{})
	if !ok {
		return false
	}
	if sess == nil {
		rl.st = rlBroken
		return true
	}
	rl.sess, rl.st = sess, rlOpen
	return true
}

// stalled reports whether a call abandoned by the watchdog is still
// running in the backend. (stuck may dip below zero for a moment; see
// watch.)
func (l *lane[O, E]) stalled() bool { return l.stuck.Load() > 0 }

// resumable reports whether a stall has ended with runs waiting for it.
func (l *lane[O, E]) resumable() bool { return len(l.deferred) > 0 && !l.stalled() }

// settle resumes the runs waiting for a stall once it has ended, before
// the lane calls the backend for anything else: so a run's Open comes
// before any of its records, and what an abandoned Open returned is taken
// before another Open can be abandoned. It reports false when this
// generation was abandoned.
func (l *lane[O, E]) settle(g *generation[O, E]) bool {
	if !l.resumable() {
		return true
	}
	return l.resume(g)
}

// resume ends a stall: the run whose Open was abandoned takes the session
// that call returned, and the deferred runs are opened, in the order they
// started. A run that finished during the stall is left alone: its
// records, its opening and its end failed then. The lane calls the
// backend again from here, and may stall again: the runs not yet opened
// stay on the list for the next generation.
func (l *lane[O, E]) resume(g *generation[O, E]) bool {
	if late := l.late.Swap(nil); late != nil {
		if rl := late.rl; rl.st == rlAwaiting && !rl.finished.Load() {
			if late.err == nil && late.sess != nil {
				rl.sess, rl.st = late.sess, rlOpen
			} else {
				rl.st = rlBroken
			}
		}
	}
	for len(l.deferred) > 0 && !l.stalled() {
		rl := l.deferred[0]
		l.deferred[0] = nil
		l.deferred = l.deferred[1:]
		switch {
		case rl.finished.Load():
			l.deferredDone--
		case rl.st == rlAwaiting:
			// Its Open returned nothing the lane saw: nothing to deliver to.
			rl.st = rlBroken
		case rl.st == rlDeferred:
			if !l.openNow(g, rl) {
				return false
			}
		}
	}
	if len(l.deferred) == 0 {
		l.deferred, l.deferredDone = nil, 0
	}
	return true
}

// leaveStall counts a run that finished while waiting for a stall to end,
// and drops such runs from the list once they are most of it, so that a
// stall that never ends does not keep every run started during it.
func (l *lane[O, E]) leaveStall() {
	l.deferredDone++
	if l.deferredDone < 64 || 2*l.deferredDone < len(l.deferred) {
		return
	}
	kept := l.deferred[:0]
	for _, rl := range l.deferred {
		if !rl.finished.Load() {
			kept = append(kept, rl)
		}
	}
	clear(l.deferred[len(kept):])
	l.deferred, l.deferredDone = kept, 0
}

// finish delivers the run's end on this lane and accounts for it. Its
// closing came after its opening on the control list.
func (l *lane[O, E]) finish(g *generation[O, E], rl *runLane[O, E]) bool {
	if !l.settle(g) {
		return false
	}
	waiting := rl.st == rlDeferred || rl.st == rlAwaiting
	switch {
	case l.force.Load():
		if rl.st == rlDeferred {
			rl.dropped() // its opening, never counted
		}
		rl.dropped()
	case rl.st == rlPending || rl.st == rlBroken:
		rl.failed()
	case waiting || l.stalled():
		if rl.st == rlDeferred {
			rl.failed() // its opening, never counted
		}
		rl.timedOut.Store(true)
		rl.failed()
	default:
		if _, ok := l.call(g, rl, callClose, Event[E]{}); !ok {
			return false
		}
	}
	l.settleFinished(rl)
	if waiting {
		l.leaveStall()
	}
	return true
}

func (l *lane[O, E]) settleFinished(rl *runLane[O, E]) {
	rl.sess = nil
	rl.finished.Store(true)
	r := rl.run
	if r.remaining.Add(-1) == 0 {
		l.p.runFinished(r)
		r.done.fire()
	}
	l.release()
}

// call runs one backend call under the watchdog. It reports false when the
// call was abandoned: the generation must then exit without touching
// anything, as the next generation owns the lane.
func (l *lane[O, E]) call(g *generation[O, E], rl *runLane[O, E], what callKind, ev Event[E]) (Session[E], bool) {
	l.seq++
	l.callRL, l.callWhat = rl, what
	// The deadline is set lazily (see callDeadline): reading the clock
	// for every call was a tenth of the worker's time.
	l.deadline.Store(-int64(l.seq))
	mark := l.seq << 2
	// Everything the call reads of rl is read before cur is published: once
	// the watchdog has seen the call in progress, it may hand rl to the next
	// generation, and this goroutine must no longer touch it.
	cur, run, idx := rl.sess, rl.run, rl.idx
	l.cur.Store(mark | 1)
	sess, err := l.invoke(g, run, idx, cur, what, ev)
	if !l.cur.CompareAndSwap(mark|1, mark) {
		// Abandoned: the next generation owns rl and the lane. What an
		// abandoned Open returned goes to it, before the lane can learn
		// that the call has returned; and a worker sleeping with runs
		// waiting for the stall to end is woken.
		if what == callOpen {
			l.late.Store(&lateOpen[O, E]{rl: rl, sess: sess, err: err})
		}
		l.stuck.Add(-1)
		if l.sleeping.Load() {
			l.signal()
		}
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
func (l *lane[O, E]) invoke(g *generation[O, E], run *Run[O, E], idx uint8, cur Session[E], what callKind, ev Event[E]) (sess Session[E], err error) {
	defer func() {
		if r := recover(); r != nil {
			sess = nil
			err = fmt.Errorf("%w: exporter %q, run %s: %v", l.p.errs.Panic, l.name, run.ID, r)
		}
	}()
	ctx := &g.call
	switch what {
	case callOpen:
		sess, err = l.backend.Open(ctx, run.Owner, int(idx))
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

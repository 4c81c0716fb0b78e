package pipeline

import (
	"errors"
	"fmt"
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
	l.worker.Store(goid())
	l.busy.Store(true)
	l.timer.Reset(l.watchEvery())
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
		// than open this run ahead of runs that started before it. The
		// look and the take are about one item: an event queued after the
		// look, for a run whose opening came after it, waits for the next
		// look.
		rl, ev, ok := l.q.front()
		if ok && !rl.opened && l.ctrlN.Load() > 0 {
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
	l.timer.Reset(l.watchEvery())
}

// handle delivers one queued event. It reports false when this generation
// was abandoned and must exit. The run is open: its opening was on the
// control list before any of its events entered the queue, and the worker
// takes the control list first.
func (l *lane[O, E]) handle(g *generation[O, E], rl *runLane[O, E], ev Event[E]) bool {
	var bit uint64
	if ev.Scope != nil {
		bit = 1 << rl.idx
	}
	switch {
	case l.force.Load():
		rl.dropped()
		ev.Scope.skip(ev.Opens, bit)
	case !rl.opened:
		// A bug, and one that must not reach the backend: the worker
		// takes a run's opening, queued before any of its events, ahead
		// of them (see work), and has no session to deliver to.
		rl.failed()
		ev.Scope.skip(ev.Opens, bit)
		if rl.failReported.CompareAndSwap(false, true) {
			rl.run.noteReport(l.p.report(fmt.Errorf("flowtrace: exporter %q, run %s: internal error: an event taken before the run was opened; failed, not delivered", l.name, rl.run.ID)))
		}
	case rl.broken || ev.Scope.skipped(bit):
		rl.failed()
		ev.Scope.skip(ev.Opens, bit)
	case l.stuck.Load() > 0:
		rl.timedOut.Store(true)
		rl.failed()
		ev.Scope.skip(ev.Opens, bit)
	default:
		_, ok := l.call(g, rl, callDeliver, ev)
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
func (l *lane[O, E]) open(g *generation[O, E], rl *runLane[O, E]) bool {
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
	sess, ok := l.call(g, rl, callOpen, Event[E]{})
	if !ok {
		return false
	}
	if sess == nil {
		rl.broken = true
	}
	rl.sess = sess
	return true
}

// finish delivers the run's end on this lane and accounts for it. The run
// is open: its closing came after its opening on the control list.
func (l *lane[O, E]) finish(g *generation[O, E], rl *runLane[O, E]) bool {
	switch {
	case l.force.Load():
		rl.dropped()
	case rl.broken:
		rl.failed()
	case l.stuck.Load() > 0:
		rl.timedOut.Store(true)
		rl.failed()
	default:
		if _, ok := l.call(g, rl, callClose, Event[E]{}); !ok {
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

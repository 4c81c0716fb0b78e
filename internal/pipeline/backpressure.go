package pipeline

import (
	"context"
	"runtime"
	"time"

	"github.com/flowtrace/flowtrace/internal/goid"
)

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
			// for yields that cannot help. A worker between calls is
			// not stuck, only waiting for a CPU.
			cur := l.cur.Load()
			if cur == last && cur&1 != 0 {
				return false
			}
			last = cur
		}
	}
	return false
}

// A producer under DropNewest lets the worker run up to dropYields times
// before it drops an event, unless the worker has been in one call for the
// last stallYields (so a producer facing an exporter stuck in a call pays
// at most stallYields yields per event until the call is abandoned). A
// worker between calls is waiting for a CPU, not stuck: the producers keep
// yielding to it. A worker preempted in the middle of a fast call looks
// the same as one in a slow call, so the time a call has taken is no guide.
const (
	dropYields  = 128
	stallYields = 32
)

// pushWait waits for room in the queue, within what is left of w.
func (l *lane[O, E]) pushWait(ctx context.Context, rl *runLane[O, E], ev Event[E], w *waitBudget) bool {
	if ctx != nil && ctx.Value(deliveringKey{}) == l || l.worker.Load() == goid.Get() {
		return false // called back from this lane's own worker: waiting would wait for ourselves
	}
	if rl.run.abort.Fired() {
		return false
	}
	abort := rl.run.abort.C()
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

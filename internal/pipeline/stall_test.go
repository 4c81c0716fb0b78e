package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// These tests stall a lane: a backend call blocks, ignoring its ctx, until
// the test releases it, and the test makes the watchdog abandon it at once
// (abandonNow) rather than wait out an export timeout. The export timeout
// is an hour, so no other call is ever abandoned, however loaded the
// machine.

// stallRun is the owner of a run of these tests: its name, and, when hang
// is not nil, an Open that blocks until hang is closed.
type stallRun struct {
	name string
	hang chan struct{}
}

// hang is an event whose delivery blocks until it is closed.
type hang chan struct{}

// stallBackend logs its calls ("open r", "r: <event>", "end r"), and
// "r: hangs" when a call starts to block.
type stallBackend struct {
	mu      sync.Mutex
	calls   []string
	changed chan struct{} // closed and replaced at each call
}

func newStallBackend() *stallBackend { return &stallBackend{changed: make(chan struct{})} }

func (b *stallBackend) add(c string) {
	b.mu.Lock()
	b.calls = append(b.calls, c)
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
}

// wait waits until the backend has logged call.
func (b *stallBackend) wait(t *testing.T, call string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		b.mu.Lock()
		seen, changed := slices.Contains(b.calls, call), b.changed
		b.mu.Unlock()
		if seen {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("the backend never logged %q; it logged %q", call, b.of(""))
		}
	}
}

// of returns the calls about run name ("" for all), in order.
func (b *stallBackend) of(name string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, c := range b.calls {
		if name == "" || c == "open "+name || c == "end "+name || strings.HasPrefix(c, name+": ") {
			out = append(out, c)
		}
	}
	return out
}

func (b *stallBackend) Shutdown(context.Context) error { return nil }

func (b *stallBackend) Open(_ context.Context, owner any, _ int) (Session[any], error) {
	r := owner.(stallRun)
	if r.hang != nil {
		b.add(r.name + ": hangs")
		<-r.hang
	}
	b.add("open " + r.name)
	return stallSession{b, r.name}, nil
}

type stallSession struct {
	b    *stallBackend
	name string
}

func (s stallSession) Deliver(_ context.Context, rec any) error {
	switch rec := rec.(type) {
	case nil:
		s.b.add("end " + s.name)
	case hang:
		s.b.add(s.name + ": hangs")
		<-rec
		s.b.add(s.name + ": hung")
	default:
		s.b.add(fmt.Sprintf("%s: %v", s.name, rec))
	}
	return nil
}

// abandonNow makes the watchdog abandon the call l is making, as if its
// deadline had passed. The caller knows the call is in progress.
func abandonNow[O, E any](l *lane[O, E]) {
	l.deadline.Store(0)
	l.watch()
}

func newStallPipeline(t *testing.T) (*Pipeline[any, any], *lane[any, any], *stallBackend) {
	t.Helper()
	b := newStallBackend()
	testHookBeforeTake = lookHook
	t.Cleanup(func() { testHookBeforeTake = nil })
	p := New[any, any](Config{QueueSize: 64, ExportTimeout: time.Hour})
	require.NoError(t, p.Add("stall", b, b))
	return p, p.lanes.Load().lanes[0], b
}

// looking is what lookHook, run by the worker each time it looks at its
// queue, waits for: that the worker has taken a run's opening.
var looking atomic.Pointer[lookFor]

type lookFor struct {
	rl   *runLane[any, any]
	done chan struct{}
}

func lookHook() {
	if w := looking.Load(); w != nil && w.rl.st != rlPending && looking.CompareAndSwap(w, nil) {
		close(w.done)
	}
}

// waitOpeningTaken waits until the worker of r's only lane has taken r's
// opening off the control list.
func waitOpeningTaken(t *testing.T, r *Run[any, any]) {
	t.Helper()
	w := &lookFor{rl: &r.lanes[0], done: make(chan struct{})}
	looking.Store(w)
	r.lanes[0].lane.signal() // a sleeping worker looks again
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("the worker never took the opening of run %s", r.ID)
	}
}

func startRun(t *testing.T, p *Pipeline[any, any], owner stallRun, events ...any) *Run[any, any] {
	t.Helper()
	r, err := p.StartRun(owner.name, owner)
	require.NoError(t, err)
	emit(t, r, events...)
	return r
}

func emit(t *testing.T, r *Run[any, any], events ...any) {
	t.Helper()
	require.True(t, r.Enter())
	for _, ev := range events {
		r.Emit(nil, Event[any]{Data: ev})
	}
	r.Leave()
}

// end closes r and waits for its delivery.
func end(t *testing.T, r *Run[any, any]) (Delivery, error) {
	t.Helper()
	require.True(t, r.Close(nil, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sum, err := r.Wait(ctx)
	require.NoError(t, ctx.Err(), "run %s did not finish", r.ID)
	return sum[0].Delivery, err
}

func shutdown(t *testing.T, p *Pipeline[any, any]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, p.Shutdown(ctx))
}

// TestRunsOfEveryTimeReachTheBackendAfterAStall stalls the lane in a call
// of run "stuck". Runs started before the stall, during it and after it
// all reach the backend once the call has returned: their start, their
// later events and their end. A run that started during the stall got no
// Open and had every later event failed, for its whole life.
func TestRunsOfEveryTimeReachTheBackendAfterAStall(t *testing.T) {
	p, l, b := newStallPipeline(t)
	release := make(hang)
	before := startRun(t, p, stallRun{name: "before"})
	stuck := startRun(t, p, stallRun{name: "stuck"}, release)
	b.wait(t, "stuck: hangs")
	abandonNow(l)
	during := startRun(t, p, stallRun{name: "during"})
	waitOpeningTaken(t, during)

	close(release)
	b.wait(t, "open during") // the stall is over
	after := startRun(t, p, stallRun{name: "after"})
	for _, r := range []*Run[any, any]{before, during, after} {
		emit(t, r, "later")
		d, err := end(t, r)
		require.NoError(t, err, "run %s lost nothing", r.ID)
		require.Equal(t, Delivery{Emitted: 3, Delivered: 3}, d, "run %s", r.ID)
		require.Equal(t, []string{"open " + r.ID, r.ID + ": later", "end " + r.ID}, b.of(r.ID))
	}
	emit(t, stuck, "later")
	_, err := end(t, stuck)
	require.ErrorIs(t, err, ErrExportTimeout, "the stuck run names the call abandoned")
	shutdown(t, p)
}

// TestRunStartedAsTheStallEndsIsDelivered releases a call the watchdog
// abandoned and starts a run at once, many times, so that the run's
// opening is taken before, while and after the lane learns that the call
// has returned. Each such run reaches the backend: one whose opening came
// between the backend's return and the lane's bookkeeping of it was never
// opened there, nor delivered anything.
func TestRunStartedAsTheStallEndsIsDelivered(t *testing.T) {
	p, l, b := newStallPipeline(t)
	for i := range 200 {
		release := make(hang)
		stuck := startRun(t, p, stallRun{name: fmt.Sprint("stuck", i)}, release)
		b.wait(t, stuck.ID+": hangs")
		abandonNow(l)

		close(release)
		r := startRun(t, p, stallRun{name: fmt.Sprint("r", i)})
		b.wait(t, "open "+r.ID)
		emit(t, r, "later")
		d, err := end(t, r)
		require.NoError(t, err, "round %d", i)
		require.Equal(t, Delivery{Emitted: 3, Delivered: 3}, d, "round %d", i)
		require.Equal(t, []string{"open " + r.ID, r.ID + ": later", "end " + r.ID}, b.of(r.ID), "round %d", i)
		_, err = end(t, stuck)
		require.ErrorIs(t, err, ErrExportTimeout)
	}
	shutdown(t, p)
}

// TestAbandonedRunIsClosedAfterTheStall abandons a run's Open, or one of
// its events, and ends the run long after the call returned: its later
// events and its end reach the backend, the end last. It was never
// closed there, and a backend keeping state per run kept it for ever.
func TestAbandonedRunIsClosedAfterTheStall(t *testing.T) {
	for _, what := range []string{"open", "deliver"} {
		t.Run(what, func(t *testing.T) {
			p, l, b := newStallPipeline(t)
			release := make(hang)
			owner := stallRun{name: "stuck"}
			var events []any
			if what == "open" {
				owner.hang = release
			} else {
				events = append(events, release)
			}
			stuck := startRun(t, p, owner, events...)
			b.wait(t, "stuck: hangs")
			abandonNow(l)
			close(release)
			startRun(t, p, stallRun{name: "probe"}) // opened once the stall is over
			b.wait(t, "open probe")

			emit(t, stuck, "later")
			d, err := end(t, stuck)
			require.ErrorIs(t, err, ErrExportTimeout, "the run names the call abandoned")
			require.Equal(t, d.Emitted, d.Delivered+d.Failed, "%+v", d)
			require.Equal(t, uint64(1), d.Failed, "only the abandoned call failed: %+v", d)
			calls := b.of("stuck")
			require.Equal(t, []string{"stuck: later", "end stuck"}, calls[len(calls)-2:], "the later event, then EndRun last")
			for _, r := range p.ActiveRuns() {
				_, err := end(t, r)
				require.NoError(t, err)
			}
			shutdown(t, p)
		})
	}
}

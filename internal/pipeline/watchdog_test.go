package pipeline

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// funcBackend is a Backend whose Deliver is a function, and whose Open and
// run ends call open and end when set.
type funcBackend struct {
	name      string // "func" if empty
	deliver   func(ctx context.Context, rec any) error
	open, end func(ctx context.Context) error
}

func (b *funcBackend) Name() string {
	if b.name == "" {
		return "func"
	}
	return b.name
}
func (b *funcBackend) Shutdown(context.Context) error { return nil }
func (b *funcBackend) Open(ctx context.Context, _ any, _ int) (Session[any], error) {
	if b.open != nil {
		if err := b.open(ctx); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// Deliver delivers an event's Data, and nil for the run's end.
func (b *funcBackend) Deliver(ctx context.Context, rec any) error {
	if rec == nil {
		if b.end != nil {
			return b.end(ctx)
		}
		return nil
	}
	return b.deliver(ctx, rec)
}

// TestWatchdogSurvivesIdleWake makes the worker go idle and find work again
// over and over, each run ending with a call that hangs until abandoned.
// The watchdog stopped re-arming itself once it saw the worker idle; a
// worker that then found work without sleeping never armed it again, and
// the next hanging call was never abandoned.
func TestWatchdogSurvivesIdleWake(t *testing.T) {
	b := &funcBackend{deliver: func(ctx context.Context, rec any) error {
		if rec == "hang" {
			<-ctx.Done() // returns only once the watchdog abandons the call
		}
		return nil
	}}
	p := New[any, any](Config{QueueSize: 1 << 12, ExportTimeout: 200 * time.Microsecond})
	require.NoError(t, p.Add(b.Name(), b, b))
	for i := range 3000 {
		r, err := p.StartRun("r", nil)
		require.NoError(t, err)
		require.True(t, r.Enter())
		for j := range 200 {
			r.Emit(nil, Event[any]{Data: j})
		}
		r.Emit(nil, Event[any]{Data: "hang"})
		r.Leave()
		r.Close(nil, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, _ = r.Wait(ctx)
		err = ctx.Err()
		cancel()
		require.NoError(t, err, "run %d: a hanging call was not abandoned: the watchdog is not armed", i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, p.Shutdown(ctx))
}

// TestAbortReleasesWaitingWriters fills a queue in front of a blocked
// backend, with a writer waiting for room for an hour: Abort makes it give
// up at once, so that Close, which waits for the writers inside the run,
// returns, and the dropped event is counted.
func TestAbortReleasesWaitingWriters(t *testing.T) {
	release := make(chan struct{})
	inCall := make(chan struct{})
	first := true
	b := &funcBackend{deliver: func(ctx context.Context, rec any) error {
		if first {
			first = false
			close(inCall)
			<-release
		}
		return nil
	}}
	p := New[any, any](Config{QueueSize: 2, Block: time.Hour, ExportTimeout: time.Hour})
	require.NoError(t, p.Add(b.Name(), b, b))
	r, err := p.StartRun("r", nil)
	require.NoError(t, err)
	require.True(t, r.Enter())
	r.Emit(nil, Event[any]{Data: 0})
	<-inCall // the worker holds event 0
	r.Emit(nil, Event[any]{Data: 1})
	r.Emit(nil, Event[any]{Data: 2}) // the queue of two is full
	r.Leave()

	waiting := make(chan struct{})
	go func() {
		defer close(waiting)
		if r.Enter() {
			r.Emit(nil, Event[any]{Data: 3}) // waits for room, inside the run
			r.Leave()
		}
	}()
	l := p.lanes.Load().lanes[0]
	for l.spaceWaiters.Load() == 0 { // until the writer waits in pushWait
		select {
		case <-waiting:
			t.Fatal("the writer should be waiting for room")
		default:
			runtime.Gosched()
		}
	}

	closed := make(chan struct{})
	go func() {
		defer close(closed)
		r.Close(nil, nil)
	}()
	r.Abort()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case <-closed:
	case <-ctx.Done():
		t.Fatal("Close still waits for a writer after Abort")
	}
	close(release)
	sum, err := r.Wait(ctx)
	require.NoError(t, err)
	require.Equal(t, Delivery{Emitted: 6, Delivered: 5, Dropped: 1}, sum[0].Delivery)
	require.NoError(t, p.Shutdown(ctx))
}

// TestLaneOutlivesShutdownUntilItsRunsEnd has Shutdown run out of time
// while a run is still being closed (its closer waits for a writer that
// waits for room on a stuck lane). The idle lane must not exit while that
// run may still queue its end on it: once the run ends, every lane
// accounts for all of it.
func TestLaneOutlivesShutdownUntilItsRunsEnd(t *testing.T) {
	release := make(chan struct{})
	inCall := make(chan struct{})
	first := true
	stuck := &funcBackend{name: "stuck", deliver: func(ctx context.Context, rec any) error {
		if first {
			first = false
			close(inCall)
			<-release // ignores ctx
		}
		return nil
	}}
	fast := &funcBackend{name: "fast", deliver: func(context.Context, any) error { return nil }}
	p := New[any, any](Config{QueueSize: 2, Block: time.Hour, ExportTimeout: time.Hour})
	require.NoError(t, p.Add(fast.Name(), fast, fast))
	require.NoError(t, p.Add(stuck.Name(), stuck, stuck))
	r, err := p.StartRun("r", nil)
	require.NoError(t, err)
	require.True(t, r.Enter())
	r.Emit(nil, Event[any]{Data: 0})
	<-inCall
	r.Emit(nil, Event[any]{Data: 1})
	r.Emit(nil, Event[any]{Data: 2}) // stuck's queue is full
	r.Leave()

	go func() {
		if r.Enter() {
			r.Emit(nil, Event[any]{Data: 3}) // waits for room on stuck, inside the run
			r.Leave()
		}
	}()
	l := p.lanes.Load().lanes[1]
	for l.spaceWaiters.Load() == 0 {
		runtime.Gosched()
	}
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		r.Close(nil, nil) // waits for the writer
	}()

	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.Error(t, p.Shutdown(short), "the stuck lane cannot finish in time")

	close(release)
	ctx, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	<-closed
	sum, err := r.Wait(ctx)
	require.NoError(t, err, "the run's end reached every lane")
	for _, d := range sum {
		require.Equal(t, d.Emitted, d.Delivered+d.Dropped+d.Failed, "lane %s: %+v", d.Name, d.Delivery)
	}
	// Shutdown ran out of time: what was left then is dropped, not lost.
	require.Equal(t, uint64(6), sum[0].Emitted, "the fast lane accounted for the whole run, its end included")
	require.NoError(t, p.Shutdown(ctx))
}

// TestWatchdogAbandonsEachKindOfCall hangs a backend in each kind of call,
// ignoring its ctx until the test releases it: the run still finishes,
// every event accounted for, the abandoned call's ctx reports the deadline,
// and Shutdown waits for the call to return.
func TestWatchdogAbandonsEachKindOfCall(t *testing.T) {
	for _, what := range []string{"open", "deliver", "end"} {
		t.Run(what, func(t *testing.T) {
			release := make(chan struct{})
			ctxErr := make(chan error, 1)
			hang := func(ctx context.Context) error {
				<-release
				ctxErr <- ctx.Err()
				return nil
			}
			b := &funcBackend{deliver: func(context.Context, any) error { return nil }}
			switch what {
			case "open":
				b.open = hang
			case "deliver":
				b.deliver = func(ctx context.Context, _ any) error { return hang(ctx) }
			case "end":
				b.end = hang
			}
			var reports counter
			reports.add()
			var once bool
			p := New[any, any](Config{QueueSize: 16, ExportTimeout: 10 * time.Millisecond, OnError: func(err error) {
				if errors.Is(err, ErrExportTimeout) && !once {
					once = true
					reports.done()
				}
			}})
			require.NoError(t, p.Add("b", b, b))
			r, err := p.StartRun("r", nil)
			require.NoError(t, err)
			require.True(t, r.Enter())
			for i := range 3 {
				r.Emit(context.Background(), Event[any]{Data: i})
			}
			r.Leave()
			require.True(t, r.Close(context.Background(), nil))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			sum, err := r.Wait(ctx)
			require.ErrorIs(t, err, ErrExportTimeout, "the run names the abandoned call")
			d := sum[0].Delivery
			require.Equal(t, uint64(5), d.Emitted)
			require.Equal(t, d.Emitted, d.Delivered+d.Dropped+d.Failed, "%+v", d)
			require.NotZero(t, d.Failed)
			<-reports.idle()

			short, cancelShort := context.WithCancel(context.Background())
			cancelShort()
			require.ErrorIs(t, p.Shutdown(short), ErrExportTimeout, "the abandoned call still runs")
			close(release)
			require.ErrorIs(t, <-ctxErr, context.DeadlineExceeded, "an abandoned call's ctx is past its deadline")
			require.NoError(t, p.Shutdown(ctx))
		})
	}
}

// TestCallDeadlineIsATimeoutAfterItsStart checks the lazy deadline: every
// call's ctx has a deadline at least the export timeout after the call
// started, whoever fixed it (the call asking, or the watchdog first), and
// one that stays put for the rest of the call. A call starts after the
// previous one returned, so the previous call's last clock reading is a
// lower bound of its start.
//
// The watchdog is run by the "watched" calls themselves, before they ask,
// rather than given time to run by a sleep; and the timeout is an hour,
// so that no call is abandoned however long a loaded machine preempts it.
// (With 50 ms, and a 25 ms sleep for the watchdog to look, a call that
// lost its CPU for 25 ms more was abandoned, and Wait failed.)
func TestCallDeadlineIsATimeoutAfterItsStart(t *testing.T) {
	const timeout = time.Hour
	type seen struct {
		before, first, again time.Time
		watched, fixedBefore bool // fixedBefore: before the call asked
	}
	got := make(chan seen, 64)
	var last time.Time    // written and read by the worker only, in turn
	var l *lane[any, any] // set before the first event is emitted
	b := &funcBackend{deliver: func(ctx context.Context, rec any) error {
		s := seen{before: last, watched: rec == "watched"}
		if s.watched {
			// The watchdog sees the call first and fixes its deadline,
			// from a goroutine of its own as the lane's timer would.
			looked := make(chan struct{})
			go func() { l.watch(); close(looked) }()
			<-looked
		}
		s.fixedBefore = l.deadline.Load() >= 0
		var ok bool
		s.first, ok = ctx.Deadline()
		require.True(t, ok)
		s.again, _ = ctx.Deadline()
		got <- s
		last = time.Now()
		return nil
	}}
	p := New[any, any](Config{QueueSize: 64, ExportTimeout: timeout})
	require.NoError(t, p.Add(b.Name(), b, b))
	l = p.lanes.Load().lanes[0]
	r, err := p.StartRun("r", nil)
	require.NoError(t, err)
	require.True(t, r.Enter())
	last = time.Now() // before the worker can see any event
	for _, ev := range []any{1, "watched", 2, 3, "watched", 4} {
		r.Emit(nil, Event[any]{Data: ev})
	}
	r.Leave()
	r.Close(nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = r.Wait(ctx)
	require.NoError(t, err)
	require.NoError(t, p.Shutdown(ctx))
	close(got)
	n := 0
	for s := range got {
		n++
		require.Equal(t, s.watched, s.fixedBefore, "the watchdog fixes the deadline of a call it sees first; otherwise the call's asking does")
		require.False(t, s.first.Before(s.before.Add(timeout)), "deadline %v is less than the timeout after the call's start (after %v)", s.first, s.before)
		require.Equal(t, s.first, s.again, "a call's deadline does not move")
	}
	require.Equal(t, 6, n)
}

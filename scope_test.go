package flowtrace_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

// This file tests the lifecycle of a scope (scope.go): holds, pending ends,
// and how EndTracers and Shutdown close a run around them.

// TestPendingEndWinsOverAForcedEnd checks that an End deferred by a hold
// keeps its error and time when EndTracers, out of time, ends the run
// before the hold is released, and that the release is not a late write.
func TestPendingEndWinsOverAForcedEnd(t *testing.T) {
	svc, rec, log := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "held"})
	release := svc.Hold(cctx)
	at := time.Now().Add(time.Minute) // a time no forced end could pick
	c.EndAt(errors.New("engine says done"), at)

	expired, cancel := context.WithCancel(ctx)
	cancel()
	_, err = svc.EndTracers(expired, nil, nil)
	require.ErrorIs(t, err, flowtrace.ErrHoldsOpen, "the hold is still open when the run ends")
	release() // the drain finishes after the run ended
	require.NoError(t, svc.Shutdown(deadline(t)))

	run, ok := rec.Run(runID(t, ctx))
	require.True(t, ok)
	comp := component(t, run, "held")
	assert.EqualError(t, comp.Err, "engine says done", "the pending End's error, not ErrComponentNotEnded")
	assert.True(t, comp.End.Equal(at), "the pending End's time: want %v, got %v", at, comp.End)
	assert.Zero(t, svc.Stats().Late, "the release of a hold whose End was carried out is not a late write")
	assert.Empty(t, log.all(), "nothing to report")
}

// TestIDOfAHeldComponentIsFreeAfterItsEnd checks that an engine reusing a
// call ID once it has ended the component with that ID finds the new
// component by it, even while a hold defers the old one's end record.
func TestIDOfAHeldComponentIsFreeAfterItsEnd(t *testing.T) {
	svc, rec, log := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	cctx, first := svc.TraceComponent(ctx, flowtrace.ComponentInfo{ID: "call-1", Name: "first"})
	release := svc.Hold(cctx) // its stream is still draining
	defer release()
	first.End(nil)

	_, second := svc.TraceComponent(ctx, flowtrace.ComponentInfo{ID: "call-1", Name: "second"})
	require.NotNil(t, second)
	assert.Zero(t, log.count(flowtrace.ErrDuplicateComponent), "the first call has ended for its engine: reusing its ID is no duplicate")
	sctx, found := svc.ComponentByID(ctx, "call-1")
	require.Same(t, second, found, "ComponentByID finds the call the engine started last with that ID")
	svc.SetOutputs(sctx, map[string]any{"answer": 42})
	found.End(errors.New("second failed"))
	_, third := svc.TraceComponent(ctx, flowtrace.ComponentInfo{ID: "call-1", Name: "third"})
	_, found = svc.ComponentByID(ctx, "call-1")
	require.Same(t, third, found, "so does a third start, while the first is still held")
	third.End(nil)
	release()

	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	run, _ := rec.Run(runID(t, ctx))
	require.Len(t, run.Components, 3)
	assert.NoError(t, component(t, run, "first").Err)
	assert.NoError(t, component(t, run, "third").Err)
	assert.NotEqual(t, "call-1", component(t, run, "third").Info.ComponentID, "the first was still open for exporters")
	got := component(t, run, "second")
	assert.EqualError(t, got.Err, "second failed", "the end found by ID is recorded, not a forced one")
	assert.Equal(t, map[string]any{"answer": int64(42)}, got.Outputs)
	assert.NotEqual(t, component(t, run, "first").Info.ComponentID, got.Info.ComponentID,
		"exporters, which see the first call open until its hold is released, tell the two apart")
	assert.Empty(t, log.all())
}

// waitingCtx is a ctx without a deadline that signals when a caller first
// asks for its Done channel, as one does to wait on it.
type waitingCtx struct {
	context.Context
	once    sync.Once
	waiting chan struct{}
}

func newWaitingCtx(parent context.Context) *waitingCtx {
	return &waitingCtx{Context: parent, waiting: make(chan struct{})}
}

func (c *waitingCtx) Done() <-chan struct{} {
	c.once.Do(func() { close(c.waiting) })
	return c.Context.Done()
}

// TestShutdownWakesAnEndTracersWaitingForHolds checks that an EndTracers
// waiting without a deadline for a leaked hold returns once Shutdown has
// ended its run, and says so, rather than blocking on or reporting a
// second end.
func TestShutdownWakesAnEndTracersWaitingForHolds(t *testing.T) {
	svc, _, log := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	release := svc.Hold(ctx) // leaked, until the test ends
	defer release()

	wctx := newWaitingCtx(ctx)
	type result struct {
		sum flowtrace.RunSummary
		err error
	}
	done := make(chan result, 1)
	go func() {
		sum, err := svc.EndTracers(wctx, map[string]any{"answer": 42}, nil)
		done <- result{sum, err}
	}()
	select {
	case <-wctx.waiting:
	case <-deadline(t).Done():
		t.Fatal("EndTracers never waited for the hold")
	}
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	err = svc.Shutdown(expired)
	require.ErrorIs(t, err, flowtrace.ErrHoldsOpen, "Shutdown out of time names the hold")

	var res result
	select {
	case res = <-done:
	case <-deadline(t).Done():
		release() // let the blocked EndTracers go, so the test can end
		t.Fatal("EndTracers still waits for a hold of a run Shutdown has ended")
	}
	assert.ErrorIs(t, res.err, flowtrace.ErrShutdown, "the run was ended by Shutdown")
	assert.NotErrorIs(t, res.err, flowtrace.ErrRunEnded, "it was the run's first EndTracers, not a second")
	assert.Equal(t, runID(t, ctx), res.sum.RunID)
	assert.Zero(t, log.count(flowtrace.ErrRunEnded), "no second end to report")
}

// TestEndTracersInsideAnExporterCallDoesNotWaitForHolds checks that an
// exporter ending a run from its own call is told ErrInDelivery at once,
// even when the run has a hold open and the ctx has no deadline: waiting
// for the hold would stall the exporter's own lane.
func TestEndTracersInsideAnExporterCallDoesNotWaitForHolds(t *testing.T) {
	var (
		runCtx context.Context
		fired  atomic.Bool
		ended  = make(chan error, 1)
	)
	svc := (*flowtrace.TraceService)(nil)
	fe := newFuncExporter("calls-back", func(_ context.Context, method string) error {
		if method == "AddLog" && fired.CompareAndSwap(false, true) {
			_, err := svc.EndTracers(runCtx, nil, nil) // the run's ctx: no deadline
			ended <- err
		}
		return nil
	})
	log := &errorLog{}
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(fe), flowtrace.WithErrorHandler(log.handle))
	require.NoError(t, err)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	cctx, _ := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "stream"})
	release := svc.Hold(cctx) // leaked, until the test ends
	runCtx = ctx
	svc.AddLog(ctx, flowtrace.Log{Name: "ends the run from the exporter"})

	select {
	case err = <-ended:
	case <-deadline(t).Done():
		release() // let the exporter's call return, so the test can end
		t.Fatal("EndTracers inside the exporter's call waited for the hold")
	}
	assert.ErrorIs(t, err, flowtrace.ErrInDelivery)
	assert.ErrorIs(t, err, flowtrace.ErrHoldsOpen, "the run ended with its hold open, and says so")
	release()
	require.NoError(t, svc.Shutdown(deadline(t)))
	run, ok := fe.rec.Run(runID(t, ctx))
	require.True(t, ok)
	assert.True(t, run.Ended, "the run's end was queued and delivered after the call returned")
	assert.ErrorIs(t, component(t, run, "stream").Err, flowtrace.ErrComponentNotEnded)
}

// TestShutdownFromTheErrorHandlerDoesNotWaitForHolds checks that Shutdown
// called by the error handler, on the service's reporting goroutine, ends
// the runs without waiting for their holds, and returns ErrInDelivery.
func TestShutdownFromTheErrorHandlerDoesNotWaitForHolds(t *testing.T) {
	fails := errors.New("backend down")
	fe := newFuncExporter("failing", func(_ context.Context, method string) error {
		if method == "AddLog" {
			return fails
		}
		return nil
	})
	var (
		svc  *flowtrace.TraceService
		once sync.Once
		shut = make(chan error, 1)
	)
	handler := func(err error) {
		if errors.Is(err, fails) {
			once.Do(func() { shut <- svc.Shutdown(context.Background()) })
		}
	}
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(fe), flowtrace.WithErrorHandler(handler))
	require.NoError(t, err)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	release := svc.Hold(ctx) // leaked, until the test ends
	svc.AddLog(ctx, flowtrace.Log{Name: "fails, so the handler shuts the service down"})

	select {
	case err = <-shut:
	case <-deadline(t).Done():
		release() // let the handler's Shutdown return, so the test can end
		t.Fatal("Shutdown in the error handler waited for a hold")
	}
	assert.ErrorIs(t, err, flowtrace.ErrInDelivery)
	assert.ErrorIs(t, err, flowtrace.ErrHoldsOpen)
	release()
	require.NoError(t, svc.Shutdown(deadline(t)))
	run, ok := fe.rec.Run(runID(t, ctx))
	require.True(t, ok)
	assert.True(t, run.Ended)
	assert.ErrorIs(t, run.Err, flowtrace.ErrShutdown)
}

// endSignal is a memory exporter that counts the runs it has seen end.
type endSignal struct {
	*memory.Exporter
	mu    sync.Mutex
	ended map[string]chan struct{}
}

func newEndSignal() *endSignal {
	return &endSignal{Exporter: memory.New(), ended: map[string]chan struct{}{}}
}

// endOf returns a channel closed once the run's EndRun has been recorded.
func (e *endSignal) endOf(runID string) <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	ch, ok := e.ended[runID]
	if !ok {
		ch = make(chan struct{})
		e.ended[runID] = ch
	}
	return ch
}

func (e *endSignal) StartRun(ctx context.Context, info flowtrace.RunStart) (flowtrace.RunExporter, error) {
	re, err := e.Exporter.StartRun(ctx, info)
	if err != nil {
		return nil, err
	}
	return &endSignalRun{RunExporter: re, e: e, id: info.RunID}, nil
}

type endSignalRun struct {
	flowtrace.RunExporter
	e  *endSignal
	id string
}

func (r *endSignalRun) EndRun(ctx context.Context, end flowtrace.RunEnd) error {
	err := r.RunExporter.EndRun(ctx, end)
	r.e.mu.Lock()
	ch, ok := r.e.ended[r.id]
	if !ok {
		ch = make(chan struct{})
		r.e.ended[r.id] = ch
	}
	r.e.mu.Unlock()
	close(ch)
	return err
}

// TestLeakedHoldDoesNotCostOtherRunsTheirEnd checks that at Shutdown the
// holds of one run spend none of the other runs' time: runs without holds
// are ended at once, and a run whose holds are released while Shutdown
// waits is ended then, while another run's leaked hold keeps Shutdown
// waiting to its deadline.
func TestLeakedHoldDoesNotCostOtherRunsTheirEnd(t *testing.T) {
	sig := newEndSignal()
	log := &errorLog{}
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(sig), flowtrace.WithErrorHandler(log.handle))
	require.NoError(t, err)
	start := func(name string) context.Context {
		ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: name})
		require.NoError(t, err)
		svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "open at shutdown"})
		return ctx
	}
	leaked := start("leaked")
	releaseLeaked := svc.Hold(leaked)
	defer releaseLeaked()
	held := start("held")
	releaseHeld := svc.Hold(held)
	var others []context.Context // many, so that few orders of the runs put the leaked one last
	for range 16 {
		others = append(others, start("other"))
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- svc.Shutdown(ctx) }()
	waitFor(t, "Shutdown refuses new runs", func() bool {
		_, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
		return errors.Is(err, flowtrace.ErrShutdown)
	})
	releaseHeld() // while Shutdown waits for the leaked hold
	dl := deadline(t)
	for _, c := range append(others, held) {
		select {
		case <-sig.endOf(runID(t, c)):
		case <-dl.Done():
			t.Errorf("run %s (%s) not ended while Shutdown waited for another run's hold", runID(t, c), nameOf(c))
		}
	}
	cancel() // the leaked hold's run has had all the time there is
	err = <-shut
	require.ErrorIs(t, err, flowtrace.ErrHoldsOpen)
	holdsOf := func(ctx context.Context) string {
		return "run " + runID(t, ctx) + ": " + flowtrace.ErrHoldsOpen.Error()
	}
	assert.Contains(t, err.Error(), holdsOf(leaked), "the run with the leaked hold is named")
	assert.NotContains(t, err.Error(), holdsOf(held), "the hold released in time is not")

	for _, c := range append(others, held) {
		run, ok := sig.Run(runID(t, c))
		require.True(t, ok)
		assert.True(t, run.Ended, "run %s ended", run.Info.RunName)
		assert.ErrorIs(t, run.Err, flowtrace.ErrShutdown)
		require.Len(t, run.Components, 1)
		assert.ErrorIs(t, run.Components[0].Err, flowtrace.ErrComponentNotEnded, "its open component was ended")
	}
	releaseLeaked()
	require.NoError(t, svc.Shutdown(deadline(t)), "a second Shutdown finishes what the first left")
}

func nameOf(ctx context.Context) string {
	rc, _ := flowtrace.RunFromContext(ctx)
	return rc.RunName()
}

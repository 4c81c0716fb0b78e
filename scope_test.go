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

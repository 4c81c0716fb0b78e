package flowtrace_test

import (
	"context"
	"errors"
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

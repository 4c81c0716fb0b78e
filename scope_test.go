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

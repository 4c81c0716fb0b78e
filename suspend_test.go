package flowtrace_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
)

func TestSuspendTracersEndsTheRunSuspended(t *testing.T) {
	svc, rec, log := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunID: "flow-1", SessionID: "s-1", UserID: "u-1"})
	require.NoError(t, err)
	_, done := svc.TraceComponent(ctx, flowtrace.ComponentInfo{ID: "draft", Name: "draft"})
	done.End(nil)
	actx, approval := svc.TraceComponent(ctx, flowtrace.ComponentInfo{ID: "approval", Name: "approval"})
	_, form := svc.TraceComponent(actx, flowtrace.ComponentInfo{ID: "form", Name: "form"})

	cp, sum, err := svc.SuspendTracers(within(t, ctx), map[string]any{"waiting_for": "approval"})
	require.NoError(t, err)
	assert.Equal(t, "flow-1", sum.RunID)
	for name, d := range sum.Exporters {
		assert.Equal(t, d.Emitted, d.Delivered, "exporter %s got every record of the suspended run", name)
	}
	rc, _ := flowtrace.RunFromContext(ctx)
	traceID, spanID := rc.TraceID(), rc.SpanID()
	assert.Equal(t, flowtrace.Checkpoint{
		RunID: "flow-1", TraceID: hex.EncodeToString(traceID[:]), SpanID: hex.EncodeToString(spanID[:]),
		SessionID: "s-1", UserID: "u-1", Sampled: true,
	}, cp, "the checkpoint continues under the suspended run's own span")

	run, ok := rec.Run("flow-1")
	require.True(t, ok)
	assert.True(t, run.Ended)
	assert.True(t, run.Suspended, "the run ended suspended")
	assert.NoError(t, run.Err, "a suspended run did not fail")
	assert.Equal(t, "approval", run.Outputs["waiting_for"])
	byID := map[string]int{}
	for i, c := range run.Components {
		byID[c.Info.ComponentID] = i
	}
	require.Len(t, run.Components, 3)
	assert.False(t, run.Components[byID["draft"]].Suspended, "a component that ended keeps its end")
	for _, id := range []string{"approval", "form"} {
		c := run.Components[byID[id]]
		assert.True(t, c.Suspended, "%s was open: it ends suspended", id)
		assert.NoError(t, c.Err, "%s ends suspended, not with ErrComponentNotEnded", id)
	}

	// What comes after the suspension is late, not a second end.
	form.End(nil)
	approval.End(errors.New("too late"))
	_, _, err = svc.SuspendTracers(ctx, nil)
	assert.ErrorIs(t, err, flowtrace.ErrRunEnded, "a second SuspendTracers")
	_, err = svc.EndTracers(ctx, nil, nil)
	assert.ErrorIs(t, err, flowtrace.ErrRunEnded, "an EndTracers after SuspendTracers")
	assert.Equal(t, uint64(2), svc.Stats().Late, "Ends after the suspension count as late")
	for _, e := range log.all() {
		assert.NotContains(t, e.Error(), "End of component", "an End after the suspension is late, not a second End")
	}
}

func TestSuspendedRunResumesInAnotherServiceInstance(t *testing.T) {
	first, firstRec, _ := newService(t)
	ctx, err := first.StartTracers(context.Background(), flowtrace.RunInfo{RunID: "order-7", SessionID: "chat-3", UserID: "ana"})
	require.NoError(t, err)
	_, wait := first.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "await approval"})
	_ = wait
	cp, _, err := first.SuspendTracers(within(t, ctx), nil)
	require.NoError(t, err)
	saved, err := json.Marshal(cp)
	require.NoError(t, err)

	// Another instance, as another process would be: only the JSON crosses.
	second, secondRec, log := newService(t)
	var loaded flowtrace.Checkpoint
	require.NoError(t, json.Unmarshal(saved, &loaded))
	rctx, err := second.StartTracers(flowtrace.ContextWithCheckpoint(context.Background(), loaded), flowtrace.RunInfo{RunID: "order-7-resumed"})
	require.NoError(t, err)
	_, step := flowtrace.TraceComponent(rctx, flowtrace.ComponentInfo{Name: "ship"})
	step.End(nil)
	_, err = second.EndTracers(within(t, rctx), nil, nil)
	require.NoError(t, err)

	suspended, _ := firstRec.Run("order-7")
	resumed, ok := secondRec.Run("order-7-resumed")
	require.True(t, ok)
	assert.True(t, resumed.Info.Resumed)
	assert.False(t, resumed.Info.ParentRemote)
	assert.Equal(t, "order-7", resumed.Info.ParentRunID)
	assert.Equal(t, suspended.Info.TraceID, resumed.Info.TraceID, "one trace across the suspension")
	assert.Equal(t, suspended.Info.SpanID, resumed.Info.ParentSpanID, "the continuation's span is under the suspended run's")
	assert.Equal(t, "chat-3", resumed.Info.SessionID)
	assert.Equal(t, "ana", resumed.Info.UserID)
	assert.False(t, resumed.Suspended)
	assert.Empty(t, log.all())
}

func TestSuspendTracersWithoutARun(t *testing.T) {
	svc, _, log := newService(t)
	cp, _, err := svc.SuspendTracers(context.Background(), nil)
	assert.ErrorIs(t, err, flowtrace.ErrNoRun)
	assert.Equal(t, flowtrace.Checkpoint{}, cp)
	_ = log

	var disabled *flowtrace.TraceService
	cp, _, err = disabled.SuspendTracers(context.Background(), nil)
	assert.NoError(t, err, "a disabled service does nothing")
	assert.Equal(t, flowtrace.Checkpoint{}, cp)
}

func TestSuspendTracersOfAnUnsampledRun(t *testing.T) {
	svc, rec, _ := newService(t, flowtrace.WithSampler(flowtrace.NeverSample()))
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunID: "quiet"})
	require.NoError(t, err)
	cp, _, err := svc.SuspendTracers(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, "quiet", cp.RunID)
	assert.False(t, cp.Sampled, "the checkpoint keeps the decision")
	assert.Zero(t, rec.Len())
}

func TestSuspendTracersWaitsForHolds(t *testing.T) {
	svc, rec, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunID: "held"})
	require.NoError(t, err)
	cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{ID: "tool"})
	release := flowtrace.Hold(cctx)
	c.End(nil) // pending on the hold
	suspended := make(chan struct{})
	go func() {
		defer close(suspended)
		_, _, err := svc.SuspendTracers(within(t, ctx), nil)
		assert.NoError(t, err)
	}()
	flowtrace.SetOutputs(cctx, map[string]any{"last": "write"}) // the holder's write, not late
	release()
	<-suspended
	run, _ := rec.Run("held")
	require.Len(t, run.Components, 1)
	assert.False(t, run.Components[0].Suspended, "its End came before the suspension: it ended, not suspended")
	assert.Equal(t, "write", run.Components[0].Outputs["last"])
	assert.True(t, run.Suspended)
	assert.Zero(t, svc.Stats().Late)
}

// TestSuspendRacesWithEnds ends components while the run is suspended:
// each ends exactly once, by its caller or suspended, and every end is
// delivered or counted late.
func TestSuspendRacesWithEnds(t *testing.T) {
	svc, rec, log := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunID: "race"})
	require.NoError(t, err)
	const n = 32
	comps := make([]*flowtrace.Component, n)
	for i := range comps {
		_, comps[i] = svc.TraceComponent(ctx, flowtrace.ComponentInfo{ID: fmt.Sprint(i)})
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, c := range comps {
		wg.Go(func() {
			<-start
			c.End(nil)
		})
	}
	wg.Go(func() {
		<-start
		_, _, err := svc.SuspendTracers(within(t, ctx), nil)
		assert.NoError(t, err)
	})
	close(start)
	wg.Wait()
	run, _ := rec.Run("race")
	require.Len(t, run.Components, n)
	suspended := 0
	for _, c := range run.Components {
		assert.True(t, c.Ended)
		assert.NoError(t, c.Err)
		if c.Suspended {
			suspended++
		}
	}
	assert.Equal(t, uint64(suspended), svc.Stats().Late, "each End that came after the suspension is late")
	for _, e := range log.all() {
		assert.NotContains(t, e.Error(), "End of component", "no End is a second End")
	}
}

package flowtrace_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
)

func TestCheckpointFromContext(t *testing.T) {
	svc, _, _ := newService(t)

	_, ok := flowtrace.CheckpointFromContext(context.Background())
	assert.False(t, ok, "a ctx without a run has no checkpoint")
	_, ok = flowtrace.CheckpointFromContext(nil) //nolint:staticcheck // a nil ctx must be safe
	assert.False(t, ok, "a nil ctx has no checkpoint")

	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunID: "run-1", SessionID: "s", UserID: "u"})
	require.NoError(t, err)
	run, _ := flowtrace.RunFromContext(ctx)
	cp, ok := flowtrace.CheckpointFromContext(ctx)
	require.True(t, ok, "a run's ctx has a checkpoint")
	traceID, spanID := run.TraceID(), run.SpanID()
	assert.Equal(t, flowtrace.Checkpoint{
		RunID: "run-1", TraceID: hex.EncodeToString(traceID[:]), SpanID: hex.EncodeToString(spanID[:]),
		SessionID: "s", UserID: "u", Sampled: true,
	}, cp, "the run's checkpoint continues under the run's span")

	cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "step"})
	comp, _ := flowtrace.ComponentFromContext(cctx)
	cp, ok = flowtrace.CheckpointFromContext(cctx)
	require.True(t, ok)
	compSpan := comp.SpanID()
	assert.Equal(t, hex.EncodeToString(compSpan[:]), cp.SpanID, "a component's checkpoint continues under the component's span")
	assert.Equal(t, "run-1", cp.RunID)
	c.End(nil)
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
}

func TestCheckpointIsJSON(t *testing.T) {
	cp := flowtrace.Checkpoint{
		RunID: "r", TraceID: strings.Repeat("ab", 16), SpanID: strings.Repeat("cd", 8),
		SessionID: "s", UserID: "u", Sampled: true, TraceState: "vendor=x",
	}
	b, err := json.Marshal(cp)
	require.NoError(t, err)
	assert.JSONEq(t, `{"run_id":"r","trace_id":"`+cp.TraceID+`","span_id":"`+cp.SpanID+`",
		"session_id":"s","user_id":"u","sampled":true,"trace_state":"vendor=x"}`, string(b))
	var back flowtrace.Checkpoint
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, cp, back, "a checkpoint survives a JSON round trip")
}

func TestStartTracersContinuesACheckpoint(t *testing.T) {
	svc, rec, log := newService(t)
	cp := flowtrace.Checkpoint{
		RunID: "suspended-run", TraceID: "0af7651916cd43dd8448eb211c80319c", SpanID: "b7ad6b7169203331",
		SessionID: "session-1", UserID: "user-1", Sampled: true, TraceState: "congo=t61rcWkgMzE",
	}
	ctx, err := svc.StartTracers(flowtrace.ContextWithCheckpoint(context.Background(), cp), flowtrace.RunInfo{RunID: "resumed-run"})
	require.NoError(t, err)
	got, ok := flowtrace.CheckpointFromContext(ctx)
	require.True(t, ok)
	assert.Equal(t, cp.TraceState, got.TraceState, "the trace state is kept with the continuation")
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)

	r, ok := rec.Run("resumed-run")
	require.True(t, ok, "the continuation was delivered")
	assert.Equal(t, "suspended-run", r.Info.ParentRunID)
	assert.Equal(t, cp.TraceID, hex.EncodeToString(r.Info.TraceID[:]), "same trace")
	assert.Equal(t, cp.SpanID, hex.EncodeToString(r.Info.ParentSpanID[:]), "under the checkpoint's span")
	assert.Equal(t, "session-1", r.Info.SessionID)
	assert.Equal(t, "user-1", r.Info.UserID)
	assert.True(t, r.Info.Resumed, "the run says it is a continuation")
	assert.False(t, r.Info.ParentRemote, "a continuation is not a remote child")
	assert.Empty(t, log.all(), "a valid checkpoint reports nothing")
}

func TestCheckpointKeepsTheSamplingDecision(t *testing.T) {
	svc, rec, _ := newService(t)
	cp := flowtrace.Checkpoint{RunID: "r", TraceID: strings.Repeat("1", 32), SpanID: strings.Repeat("2", 16)}
	ctx, err := svc.StartTracers(flowtrace.ContextWithCheckpoint(context.Background(), cp), flowtrace.RunInfo{RunID: "cont"})
	require.NoError(t, err)
	run, _ := flowtrace.RunFromContext(ctx)
	assert.False(t, run.Sampled(), "an unsampled run's continuation is unsampled")
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	assert.Equal(t, 0, rec.Len(), "exporters see nothing of an unsampled continuation")
}

func TestARunInContextWinsOverACheckpoint(t *testing.T) {
	svc, rec, _ := newService(t)
	cp := flowtrace.Checkpoint{RunID: "r", TraceID: strings.Repeat("1", 32), SpanID: strings.Repeat("2", 16), Sampled: true}
	outer, err := svc.StartTracers(flowtrace.ContextWithCheckpoint(context.Background(), flowtrace.Checkpoint{}), flowtrace.RunInfo{RunID: "outer"})
	require.NoError(t, err)
	inner, err := svc.StartTracers(flowtrace.ContextWithCheckpoint(outer, cp), flowtrace.RunInfo{RunID: "inner"})
	require.NoError(t, err)
	_, err = svc.EndTracers(within(t, inner), nil, nil)
	require.NoError(t, err)
	_, err = svc.EndTracers(within(t, outer), nil, nil)
	require.NoError(t, err)
	r, _ := rec.Run("inner")
	assert.Equal(t, "outer", r.Info.ParentRunID, "a run started inside a run is nested in it")
	assert.False(t, r.Info.Resumed)
}

func TestHostileCheckpointStartsAFreshRun(t *testing.T) {
	good := flowtrace.Checkpoint{RunID: "r", TraceID: strings.Repeat("a", 32), SpanID: strings.Repeat("b", 16), Sampled: true}
	with := func(f func(*flowtrace.Checkpoint)) flowtrace.Checkpoint { cp := good; f(&cp); return cp }
	cases := map[string]flowtrace.Checkpoint{
		"zero":                {},
		"no run ID":           with(func(cp *flowtrace.Checkpoint) { cp.RunID = "" }),
		"huge run ID":         with(func(cp *flowtrace.Checkpoint) { cp.RunID = strings.Repeat("x", 1<<20) }),
		"huge session ID":     with(func(cp *flowtrace.Checkpoint) { cp.SessionID = strings.Repeat("x", 1<<20) }),
		"huge user ID":        with(func(cp *flowtrace.Checkpoint) { cp.UserID = strings.Repeat("x", 257) }),
		"session not UTF-8":   with(func(cp *flowtrace.Checkpoint) { cp.SessionID = "s\xff" }),
		"short trace ID":      with(func(cp *flowtrace.Checkpoint) { cp.TraceID = "abc" }),
		"long span ID":        with(func(cp *flowtrace.Checkpoint) { cp.SpanID = strings.Repeat("b", 17) }),
		"non-hex trace ID":    with(func(cp *flowtrace.Checkpoint) { cp.TraceID = strings.Repeat("z", 32) }),
		"non-hex span ID":     with(func(cp *flowtrace.Checkpoint) { cp.SpanID = strings.Repeat("é", 8) }),
		"all-zero trace ID":   with(func(cp *flowtrace.Checkpoint) { cp.TraceID = strings.Repeat("0", 32) }),
		"all-zero span ID":    with(func(cp *flowtrace.Checkpoint) { cp.SpanID = strings.Repeat("0", 16) }),
		"upper-case is valid": with(func(cp *flowtrace.Checkpoint) { cp.TraceID = strings.Repeat("A", 32) }),
	}
	for name, cp := range cases {
		t.Run(name, func(t *testing.T) {
			svc, rec, log := newService(t)
			ctx, err := svc.StartTracers(flowtrace.ContextWithCheckpoint(context.Background(), cp), flowtrace.RunInfo{RunID: "fresh"})
			require.NoError(t, err, "a bad checkpoint still starts a run")
			_, err = svc.EndTracers(within(t, ctx), nil, nil)
			require.NoError(t, err)
			r, ok := rec.Run("fresh")
			require.True(t, ok, "the run was recorded")
			if name == "upper-case is valid" {
				assert.True(t, r.Info.Resumed, "hex digits in upper case are hex")
				return
			}
			assert.False(t, r.Info.Resumed, "a bad checkpoint starts a fresh run")
			assert.Empty(t, r.Info.ParentRunID)
			assert.Equal(t, [8]byte{}, r.Info.ParentSpanID)
			assert.NotEqual(t, good.TraceID, hex.EncodeToString(r.Info.TraceID[:]))
			assert.Equal(t, 1, log.count(flowtrace.ErrInvalidCheckpoint), "the bad checkpoint is reported: %v", log.all())
			for _, e := range log.all() {
				assert.NotContains(t, e.Error(), "xxxxxxxx", "the report does not repeat the checkpoint's values")
			}
		})
	}
}

func FuzzCheckpoint(f *testing.F) {
	f.Add("r", strings.Repeat("a", 32), strings.Repeat("b", 16), true)
	f.Add("", "", "", false)
	f.Add("r", strings.Repeat("0", 32), strings.Repeat("0", 16), true)
	f.Add("r", strings.Repeat("g", 32), "\x00\x01", false)
	svc, err := flowtrace.NewTraceService(flowtrace.WithErrorHandler(func(error) {}))
	require.NoError(f, err)
	defer func() { require.NoError(f, svc.Shutdown(context.Background())) }()
	f.Fuzz(func(t *testing.T, runID, traceID, spanID string, sampled bool) {
		cp := flowtrace.Checkpoint{RunID: runID, TraceID: traceID, SpanID: spanID, Sampled: sampled}
		ctx, err := svc.StartTracers(flowtrace.ContextWithCheckpoint(context.Background(), cp), flowtrace.RunInfo{})
		require.NoError(t, err)
		run, ok := flowtrace.RunFromContext(ctx)
		require.True(t, ok)
		if run.ParentRunID() != "" {
			tid := run.TraceID()
			assert.Equal(t, strings.ToLower(traceID), hex.EncodeToString(tid[:]), "a continuation joins the checkpoint's trace")
			assert.NotEqual(t, [16]byte{}, tid)
		}
		_, err = svc.EndTracers(ctx, nil, nil)
		require.NoError(t, err)
	})
}

package flowtrace_test

import (
	"context"
	"math"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
)

// TestNestedRunJoinsItsParentsTrace: a flow used as a tool of another flow
// is one trace with it, its run span under the component that started it.
func TestNestedRunJoinsItsParentsTrace(t *testing.T) {
	svc, rec, _ := newService(t)
	outer, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "outer", SessionID: "s1", UserID: "u1"})
	require.NoError(t, err)
	toolCtx, tool := svc.TraceComponent(outer, flowtrace.ComponentInfo{Name: "subflow", Type: "tool"})
	cc, _ := flowtrace.ComponentFromContext(toolCtx)

	inner, err := svc.StartTracers(toolCtx, flowtrace.RunInfo{RunName: "inner"})
	require.NoError(t, err)
	atRunLevel, err := svc.StartTracers(outer, flowtrace.RunInfo{RunName: "beside", SessionID: "own"})
	require.NoError(t, err)

	orc, _ := flowtrace.RunFromContext(outer)
	irc, _ := flowtrace.RunFromContext(inner)
	brc, _ := flowtrace.RunFromContext(atRunLevel)
	assert.Equal(t, orc.TraceID(), irc.TraceID(), "a nested run belongs to its parent's trace")
	assert.NotEqual(t, orc.RunID(), irc.RunID(), "a nested run has its own run ID")
	assert.Equal(t, cc.SpanID(), irc.ParentSpanID(), "the nested run's span is a child of the component that started it")
	assert.Equal(t, orc.SpanID(), cc.ParentSpanID(), "a top component's parent span is its run's span")
	assert.Equal(t, orc.SpanID(), brc.ParentSpanID(), "a run started at run level is a child of the run's span")
	assert.Equal(t, [8]byte{}, orc.ParentSpanID(), "a top-level run has no parent span")
	assert.NotEqual(t, [8]byte{}, orc.SpanID())
	assert.NotEqual(t, orc.SpanID(), irc.SpanID())
	assert.Equal(t, "s1", irc.SessionID(), "session inherited when not given")
	assert.Equal(t, "u1", irc.UserID(), "user inherited when not given")
	assert.Equal(t, "own", brc.SessionID(), "a given session wins")
	assert.Equal(t, "u1", brc.UserID())
	assert.True(t, irc.Sampled())

	for _, c := range []context.Context{inner, atRunLevel} {
		_, err := svc.EndTracers(within(t, c), nil, nil)
		require.NoError(t, err)
	}
	tool.End(nil)
	_, err = svc.EndTracers(within(t, outer), nil, nil)
	require.NoError(t, err)

	innerRun, ok := rec.Run(irc.RunID())
	require.True(t, ok)
	assert.Equal(t, orc.TraceID(), innerRun.Info.TraceID, "exporters see the inherited trace ID")
	assert.Equal(t, irc.SpanID(), innerRun.Info.SpanID)
	assert.Equal(t, cc.SpanID(), innerRun.Info.ParentSpanID)
	outerRun, _ := rec.Run(orc.RunID())
	assert.Equal(t, orc.SpanID(), outerRun.Info.SpanID)
	assert.Equal(t, orc.SpanID(), component(t, outerRun, "subflow").Info.ParentSpanID)
}

func TestRemoteParentContinuesTheCallersTrace(t *testing.T) {
	svc, rec, _ := newService(t, flowtrace.WithSampler(flowtrace.NeverSample()))
	rp := flowtrace.RemoteParent{
		TraceID: [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		SpanID:  [8]byte{0xa, 0xb, 0xc, 0xd, 1, 2, 3, 4},
		Sampled: true, RunID: "caller-run", SessionID: "s-remote", UserID: "u-remote",
	}
	ctx := flowtrace.ContextWithRemoteParent(context.Background(), rp)
	got, ok := flowtrace.RemoteParentFromContext(ctx)
	require.True(t, ok)
	assert.Equal(t, rp, got)

	run, err := svc.StartTracers(ctx, flowtrace.RunInfo{RunName: "callee", UserID: "u-own"})
	require.NoError(t, err)
	rc, _ := flowtrace.RunFromContext(run)
	assert.True(t, rc.Sampled(), "a sampled caller is honoured even by a service that samples nothing of its own")
	assert.Equal(t, rp.TraceID, rc.TraceID())
	assert.Equal(t, rp.SpanID, rc.ParentSpanID())
	assert.Equal(t, "caller-run", rc.ParentRunID())
	assert.NotEqual(t, "caller-run", rc.RunID(), "a continued run has a run ID of its own")
	assert.Equal(t, "s-remote", rc.SessionID())
	assert.Equal(t, "u-own", rc.UserID())

	// A local run in ctx takes precedence over a remote parent.
	nested, err := svc.StartTracers(flowtrace.ContextWithRemoteParent(run, flowtrace.RemoteParent{TraceID: [16]byte{9}, SpanID: [8]byte{9}, Sampled: true}), flowtrace.RunInfo{})
	require.NoError(t, err)
	nrc, _ := flowtrace.RunFromContext(nested)
	assert.Equal(t, rc.RunID(), nrc.ParentRunID())
	assert.Equal(t, rc.TraceID(), nrc.TraceID())
	_, err = svc.EndTracers(within(t, nested), nil, nil)
	require.NoError(t, err)

	_, err = svc.EndTracers(within(t, run), nil, nil)
	require.NoError(t, err)
	r, ok := rec.Run(rc.RunID())
	require.True(t, ok, "the continued run was recorded")
	assert.Equal(t, rp.TraceID, r.Info.TraceID)
	assert.Equal(t, rp.SpanID, r.Info.ParentSpanID)
	assert.Equal(t, "caller-run", r.Info.ParentRunID)
}

func TestUnsampledRemoteParentIsHonoured(t *testing.T) {
	svc, rec, log := newService(t) // AlwaysSample by default
	ctx := flowtrace.ContextWithRemoteParent(context.Background(), flowtrace.RemoteParent{TraceID: [16]byte{1}, SpanID: [8]byte{2}, Sampled: false})
	run, err := svc.StartTracers(ctx, flowtrace.RunInfo{})
	require.NoError(t, err)
	rc, ok := flowtrace.RunFromContext(run)
	require.True(t, ok, "an unsampled run still carries its identity")
	assert.False(t, rc.Sampled())
	assert.Equal(t, [16]byte{1}, rc.TraceID())
	cctx, c := svc.TraceComponent(run, flowtrace.ComponentInfo{Name: "c"})
	assert.Nil(t, c, "no component in an unsampled run")
	assert.Equal(t, run, cctx, "ctx unchanged: the run's span stays the current one")
	svc.AddLog(cctx, flowtrace.Log{Name: "l"})
	svc.SetOutputs(cctx, map[string]any{"k": 1})
	c.End(nil)
	sum, err := svc.EndTracers(run, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, rc.RunID(), sum.RunID)
	_, err = svc.EndTracers(run, nil, nil)
	require.ErrorIs(t, err, flowtrace.ErrRunEnded, "a second EndTracers is misuse, sampled or not")
	assert.Empty(t, rec.Runs(), "exporters see nothing of an unsampled run")
	assert.Equal(t, 1, log.count(flowtrace.ErrRunEnded))
	assert.Len(t, log.all(), 1, "writes through an unsampled run are not misuse")
	assert.Equal(t, uint64(1), svc.Stats().RunsUnsampled)
}

func TestInvalidRemoteParentIsIgnored(t *testing.T) {
	bg := context.Background()
	for name, rp := range map[string]flowtrace.RemoteParent{
		"zero":          {},
		"zero trace ID": {SpanID: [8]byte{1}, Sampled: true},
		"zero span ID":  {TraceID: [16]byte{1}, Sampled: true},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := flowtrace.ContextWithRemoteParent(bg, rp)
			assert.Equal(t, bg, ctx, "an invalid parent leaves ctx unchanged")
			_, ok := flowtrace.RemoteParentFromContext(ctx)
			assert.False(t, ok)
		})
	}
	//lint:ignore SA1012 a nil ctx is what is being tested
	_, ok := flowtrace.RemoteParentFromContext(nil) //nolint:staticcheck
	assert.False(t, ok, "a nil ctx has no remote parent")
	assert.NotNil(t, flowtrace.ContextWithRemoteParent(nil, flowtrace.RemoteParent{TraceID: [16]byte{1}, SpanID: [8]byte{1}})) //nolint:staticcheck
}

func TestSamplers(t *testing.T) {
	t.Run("NeverSample records nothing, nested runs inherit", func(t *testing.T) {
		svc, rec, log := newService(t, flowtrace.WithSampler(flowtrace.NeverSample()))
		ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "r"})
		require.NoError(t, err)
		nested, err := svc.StartTracers(ctx, flowtrace.RunInfo{})
		require.NoError(t, err)
		nrc, _ := flowtrace.RunFromContext(nested)
		assert.False(t, nrc.Sampled(), "a nested run inherits its parent's decision")
		for _, c := range []context.Context{nested, ctx} {
			_, err := svc.EndTracers(c, nil, nil)
			require.NoError(t, err)
		}
		assert.Empty(t, rec.Runs())
		assert.Empty(t, log.all())
		st := svc.Stats()
		assert.Equal(t, uint64(2), st.RunsUnsampled)
		assert.Zero(t, st.RunsStarted)
	})
	t.Run("RatioSample is deterministic by run ID and near its ratio", func(t *testing.T) {
		s := flowtrace.RatioSample(0.25)
		n, kept := 4000, 0
		for i := range n {
			id := uuid.NewSHA1(uuid.NameSpaceOID, []byte{byte(i), byte(i >> 8)})
			first := s.ShouldSample(id)
			require.Equal(t, first, s.ShouldSample(id), "the same trace ID gets the same decision")
			if first {
				kept++
			}
		}
		assert.InDelta(t, 0.25, float64(kept)/float64(n), 0.05, "kept %d of %d", kept, n)
		assert.True(t, flowtrace.RatioSample(1).ShouldSample([16]byte{15: 0xff, 8: 0xff}))
		assert.False(t, flowtrace.RatioSample(0).ShouldSample([16]byte{}))
		assert.Equal(t, "RatioSample(0.25)", s.Description())
	})
	t.Run("the same run ID is sampled the same way by two services", func(t *testing.T) {
		a, _, _ := newService(t, flowtrace.WithSampler(flowtrace.RatioSample(0.5)))
		b, _, _ := newService(t, flowtrace.WithSampler(flowtrace.RatioSample(0.5)))
		for i := range 50 {
			id := uuid.NewSHA1(uuid.NameSpaceURL, []byte{byte(i)}).String()
			ca, err := a.StartTracers(context.Background(), flowtrace.RunInfo{RunID: id})
			require.NoError(t, err)
			cb, err := b.StartTracers(context.Background(), flowtrace.RunInfo{RunID: id})
			require.NoError(t, err)
			ra, _ := flowtrace.RunFromContext(ca)
			rb, _ := flowtrace.RunFromContext(cb)
			require.Equal(t, ra.Sampled(), rb.Sampled(), "run %s", id)
			_, err = a.EndTracers(within(t, ca), nil, nil)
			require.NoError(t, err)
			_, err = b.EndTracers(within(t, cb), nil, nil)
			require.NoError(t, err)
		}
	})
	t.Run("invalid samplers are refused", func(t *testing.T) {
		for _, s := range []flowtrace.Sampler{nil, flowtrace.RatioSample(-0.1), flowtrace.RatioSample(1.5), flowtrace.RatioSample(math.NaN())} {
			_, err := flowtrace.NewTraceService(flowtrace.WithSampler(s))
			require.ErrorIs(t, err, flowtrace.ErrInvalidOption, "sampler %v", s)
		}
	})
}

func TestRatioSampleHoldsForEveryKindOfRunID(t *testing.T) {
	svc, _, _ := newService(t, flowtrace.WithSampler(flowtrace.RatioSample(0.5)))
	for name, gen := range map[string]func(int) string{
		"v1 (time and MAC)": func(int) string { u, _ := uuid.NewUUID(); return u.String() },
		"v4 (random)":       func(int) string { return uuid.NewString() },
		"v7 (time, random)": func(int) string { u, _ := uuid.NewV7(); return u.String() },
		"v5 (name hash)":    func(i int) string { return uuid.NewSHA1(uuid.NameSpaceURL, []byte{byte(i), byte(i >> 8)}).String() },
		"sequential":        func(i int) string { return "order-" + string(rune('a'+i%26)) + uuid.NewString()[:4] },
	} {
		t.Run(name, func(t *testing.T) {
			const n = 2000
			kept := 0
			for i := range n {
				ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunID: gen(i)})
				require.NoError(t, err)
				if rc, _ := flowtrace.RunFromContext(ctx); rc.Sampled() {
					kept++
				}
				_, err = svc.EndTracers(within(t, ctx), nil, nil)
				require.NoError(t, err)
			}
			assert.InDelta(t, 0.5, float64(kept)/n, 0.07, "kept %d of %d", kept, n)
		})
	}
}

func TestNilUUIDRunIDStillYieldsATraceID(t *testing.T) {
	svc, _, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunID: uuid.Nil.String()})
	require.NoError(t, err)
	rc, _ := flowtrace.RunFromContext(ctx)
	assert.NotEqual(t, [16]byte{}, rc.TraceID(), "an all-zero trace ID is invalid in W3C and OpenTelemetry")
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
}

func TestUnsampledRunAllocatesNothingPerCall(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	svc, _, _ := newService(t, flowtrace.WithSampler(flowtrace.NeverSample()))
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	in := map[string]any{"q": "hello"}
	allocs := testing.AllocsPerRun(100, func() {
		cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c", Inputs: in})
		svc.AddLog(cctx, flowtrace.Log{Name: "l", Message: "m"})
		svc.SetOutputs(cctx, in)
		c.End(nil)
	})
	assert.Zero(t, allocs, "calls through an unsampled run allocate nothing")
	_, err = svc.EndTracers(ctx, nil, nil)
	require.NoError(t, err)
}

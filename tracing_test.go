package flowtrace_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

func TestWholeRunIsRecorded(t *testing.T) {
	svc, rec, errs := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{
		RunName: "support-bot", ProjectName: "p", UserID: "u1", SessionID: "s1",
		Metadata: map[string]any{"tier": "gold"},
	})
	require.NoError(t, err)
	id := runID(t, ctx)

	cctx, comp := svc.TraceComponent(ctx, flowtrace.ComponentInfo{ID: "llm-1", Name: "OpenAI", Type: "llm", Inputs: map[string]any{"q": "capital of France?"}})
	require.NotNil(t, comp)
	svc.AddLog(cctx, flowtrace.Log{Name: "prompt", Message: "capital of France?", Type: "text"})
	svc.SetOutputs(cctx, map[string]any{"text": "Par"})
	svc.SetOutputs(cctx, map[string]any{"text": "Paris", "words": 1})
	comp.End(nil)
	svc.AddLog(ctx, flowtrace.Log{Name: "run-log", Message: "done", Type: "text"})

	sum, err := svc.EndTracers(ctx, map[string]any{"answer": "Paris"}, nil)
	require.NoError(t, err)
	assert.Equal(t, id, sum.RunID)
	assert.Equal(t, 1, sum.Components)
	requireBalanced(t, sum)
	// start run, start component, log, 2 outputs, end component, run log, end run.
	assert.Equal(t, flowtrace.Delivery{Emitted: 8, Delivered: 8}, sum.Exporters["memory"])

	run, ok := rec.Run(id)
	require.True(t, ok, "the run must be in the memory exporter when EndTracers returns")
	assert.True(t, run.Ended)
	assert.Equal(t, "support-bot", run.Info.RunName)
	assert.Equal(t, "u1", run.Info.UserID)
	assert.Equal(t, "s1", run.Info.SessionID)
	assert.Equal(t, "p", run.Info.ProjectName)
	assert.Equal(t, map[string]any{"tier": "gold"}, run.Info.Metadata.Map())
	assert.Equal(t, map[string]any{"answer": "Paris"}, run.Outputs)
	require.Len(t, run.Logs, 1)
	assert.Equal(t, "done", run.Logs[0].Message)

	require.Len(t, run.Components, 1)
	c := run.Components[0]
	assert.Equal(t, "llm-1", c.Info.ComponentID)
	assert.Equal(t, "llm", c.Info.Type)
	assert.Equal(t, id, c.Info.RunID)
	assert.Empty(t, c.Info.ParentID)
	assert.Equal(t, map[string]any{"q": "capital of France?"}, c.Info.Inputs.Map())
	assert.Equal(t, map[string]any{"text": "Paris", "words": int64(1)}, c.Outputs, "outputs set twice merge, later keys win")
	require.Len(t, c.Logs, 1)
	assert.Equal(t, "prompt", c.Logs[0].Name)
	assert.Equal(t, "llm-1", c.Logs[0].ComponentID)
	assert.True(t, c.Ended)
	assert.NoError(t, c.Err)
	assert.False(t, c.End.Before(c.Info.Time), "a component ends after it starts")
	assert.Empty(t, errs.all(), "a correct run reports no error")
}

func TestComponentsNest(t *testing.T) {
	svc, rec, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "nest"})
	require.NoError(t, err)

	actx, a := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "agent", Type: "agent"})
	bctx, b := svc.TraceComponent(actx, flowtrace.ComponentInfo{Name: "tool", Type: "tool"})
	cctx, c := svc.TraceComponent(bctx, flowtrace.ComponentInfo{Name: "http", Type: "http"})

	ac, ok := flowtrace.ComponentFromContext(actx)
	require.True(t, ok)
	cc, ok := flowtrace.ComponentFromContext(cctx)
	require.True(t, ok)
	assert.Equal(t, "http", cc.Name())
	assert.Len(t, ac.ID(), 16, "a generated component ID is 16 hex digits")
	assert.Equal(t, hex.EncodeToString(sliceOf(ac.SpanID())), ac.ID(), "a generated ID is the span ID")

	_, inRun := flowtrace.ComponentFromContext(ctx)
	assert.False(t, inRun, "deriving a child scope never changes the parent ctx")
	again, _ := flowtrace.ComponentFromContext(actx)
	assert.Equal(t, "agent", again.Name(), "the parent's ctx still names the parent")

	svc.AddLog(bctx, flowtrace.Log{Name: "in-tool", Message: 1})
	c.End(nil)
	b.End(errors.New("tool failed"))
	a.End(nil)
	_, err = svc.EndTracers(ctx, nil, nil)
	require.NoError(t, err)

	run, _ := rec.Run(runID(t, ctx))
	require.Len(t, run.Components, 3)
	agent, tool, http := component(t, run, "agent"), component(t, run, "tool"), component(t, run, "http")
	assert.Empty(t, agent.Info.ParentID)
	assert.Equal(t, agent.Info.ComponentID, tool.Info.ParentID)
	assert.Equal(t, tool.Info.ComponentID, http.Info.ParentID)
	assert.EqualError(t, tool.Err, "tool failed")
	require.Len(t, tool.Logs, 1, "a log goes to the innermost component of the ctx")
	assert.Empty(t, agent.Logs)
	assert.Equal(t, []string{"agent", "tool", "http"}, []string{run.Components[0].Info.Name, run.Components[1].Info.Name, run.Components[2].Info.Name}, "components in start order")
}

func sliceOf(b [8]byte) []byte { return b[:] }

func TestNestedRunRecordsItsParent(t *testing.T) {
	svc, rec, _ := newService(t)
	outer, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "outer"})
	require.NoError(t, err)
	toolCtx, tool := svc.TraceComponent(outer, flowtrace.ComponentInfo{ID: "flow-as-tool", Name: "subflow", Type: "tool"})

	inner, err := svc.StartTracers(toolCtx, flowtrace.RunInfo{RunName: "inner"})
	require.NoError(t, err)
	rc, _ := flowtrace.RunFromContext(inner)
	assert.Equal(t, runID(t, outer), rc.ParentRunID())
	assert.Equal(t, "flow-as-tool", rc.ParentComponentID())
	svc.AddLog(inner, flowtrace.Log{Name: "inner-log", Message: "x"})
	_, err = svc.EndTracers(inner, nil, nil)
	require.NoError(t, err)

	svc.AddLog(toolCtx, flowtrace.Log{Name: "after-inner", Message: "y"})
	tool.End(nil)
	_, err = svc.EndTracers(outer, nil, nil)
	require.NoError(t, err)

	innerRun, ok := rec.Run(rc.RunID())
	require.True(t, ok)
	assert.Equal(t, runID(t, outer), innerRun.Info.ParentRunID)
	assert.Equal(t, "flow-as-tool", innerRun.Info.ParentComponentID)
	require.Len(t, innerRun.Logs, 1)
	outerRun, _ := rec.Run(runID(t, outer))
	assert.Empty(t, outerRun.Info.ParentRunID)
	require.Len(t, outerRun.Components[0].Logs, 1, "after the nested run, the outer ctx writes to the outer run")
	assert.Equal(t, "after-inner", outerRun.Components[0].Logs[0].Name)
}

func TestGeneratedIdentifiers(t *testing.T) {
	svc, _, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	rc, _ := flowtrace.RunFromContext(ctx)
	u, err := uuid.Parse(rc.RunID())
	require.NoError(t, err, "a generated run ID is a UUID")
	assert.Equal(t, [16]byte(u), rc.TraceID(), "the trace ID of a UUID run ID is its bytes")
	assert.Equal(t, strings.ReplaceAll(rc.RunID(), "-", ""), rc.TraceIDString())

	ctx2, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunID: "order-42"})
	require.NoError(t, err)
	rc2, _ := flowtrace.RunFromContext(ctx2)
	assert.Equal(t, "order-42", rc2.RunID())
	assert.NotEqual(t, [16]byte{}, rc2.TraceID(), "any run ID yields a trace ID")
	for _, c := range []context.Context{ctx, ctx2} {
		_, err := svc.EndTracers(c, nil, nil)
		require.NoError(t, err)
	}
}

func TestValuesAreSnapshottedAtCallTime(t *testing.T) {
	svc, rec, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	in := map[string]any{"n": 1, "list": []any{"a"}}
	cctx, comp := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c", Inputs: in})
	out := map[string]any{"v": "first"}
	svc.SetOutputs(cctx, out)
	msg := map[string]any{"m": "before"}
	svc.AddLog(cctx, flowtrace.Log{Name: "l", Message: msg})

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the caller reuses its maps from another goroutine at once
		defer wg.Done()
		in["n"] = 2
		in["list"].([]any)[0] = "changed"
		out["v"] = "second"
		msg["m"] = "after"
	}()
	wg.Wait()
	comp.End(nil)
	_, err = svc.EndTracers(ctx, nil, nil)
	require.NoError(t, err)

	run, _ := rec.Run(runID(t, ctx))
	c := run.Components[0]
	assert.Equal(t, map[string]any{"n": int64(1), "list": []any{"a"}}, c.Info.Inputs.Map(), "inputs as they were at TraceComponent")
	assert.Equal(t, map[string]any{"v": "first"}, c.Outputs, "outputs as they were at SetOutputs")
	assert.Equal(t, map[string]any{"m": "before"}, c.Logs[0].Message, "message as it was at AddLog")
}

func TestEndTracersEndsOpenComponents(t *testing.T) {
	svc, rec, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	actx, _ := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "outer"})
	_, _ = svc.TraceComponent(actx, flowtrace.ComponentInfo{Name: "inner"})
	sum, err := svc.EndTracers(ctx, nil, errors.New("run failed"))
	require.NoError(t, err)
	requireBalanced(t, sum)

	run, _ := rec.Run(runID(t, ctx))
	assert.EqualError(t, run.Err, "run failed")
	for _, name := range []string{"outer", "inner"} {
		c := component(t, run, name)
		assert.True(t, c.Ended, "%s must be ended by EndTracers", name)
		assert.ErrorIs(t, c.Err, flowtrace.ErrComponentNotEnded)
	}
	inner, outer := component(t, run, "inner"), component(t, run, "outer")
	assert.False(t, inner.End.After(outer.End), "children end no later than their parent")
}

func TestMisuseNeverPanics(t *testing.T) {
	svc, rec, errs := newService(t)
	bg := context.Background()

	t.Run("ctx without a run", func(t *testing.T) {
		before := svc.Stats().NoRun
		svc.AddLog(bg, flowtrace.Log{Name: "x"})
		svc.SetOutputs(bg, map[string]any{"x": 1})
		cctx, comp := svc.TraceComponent(bg, flowtrace.ComponentInfo{Name: "x"})
		assert.Nil(t, comp)
		assert.Equal(t, bg, cctx, "without a run, ctx comes back unchanged")
		comp.End(nil) // nil-safe
		_, err := svc.EndTracers(bg, nil, nil)
		assert.ErrorIs(t, err, flowtrace.ErrNoRun)
		//nolint:staticcheck // a nil ctx is misuse the library must survive
		svc.AddLog(nil, flowtrace.Log{Name: "x"})
		assert.Equal(t, before+5, svc.Stats().NoRun, "each misuse is counted")
		// The first of each kind is reported at once (the rest once per
		// interval, see TestNoRunIsReportedOncePerInterval).
		assert.Equal(t, 4, errs.count(flowtrace.ErrNoRun), "the first misuse of each kind is reported with ErrNoRun")
	})

	t.Run("accessors on nil and empty ctx", func(t *testing.T) {
		//nolint:staticcheck
		_, ok := flowtrace.RunFromContext(nil)
		assert.False(t, ok)
		_, ok = flowtrace.ComponentFromContext(bg)
		assert.False(t, ok)
		var rc flowtrace.RunContext
		assert.Empty(t, rc.RunID(), "the zero RunContext answers empty")
		var cc flowtrace.ComponentContext
		assert.Empty(t, cc.ID())
	})

	t.Run("End twice and EndTracers twice", func(t *testing.T) {
		ctx, err := svc.StartTracers(bg, flowtrace.RunInfo{})
		require.NoError(t, err)
		_, comp := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c"})
		comp.End(nil)
		before := errs.count(flowtrace.ErrComponentEnded)
		comp.End(errors.New("again"))
		assert.Equal(t, before+1, errs.count(flowtrace.ErrComponentEnded))
		_, err = svc.EndTracers(ctx, nil, nil)
		require.NoError(t, err)
		_, err = svc.EndTracers(ctx, nil, nil)
		assert.ErrorIs(t, err, flowtrace.ErrRunEnded)
		run, _ := rec.Run(runID(t, ctx))
		require.Len(t, run.Components, 1)
		assert.NoError(t, run.Components[0].Err, "a second End does not change the recorded end")
	})

	t.Run("writes after the end are late", func(t *testing.T) {
		ctx, err := svc.StartTracers(bg, flowtrace.RunInfo{})
		require.NoError(t, err)
		cctx, comp := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c"})
		comp.End(nil)
		lateBefore := svc.Stats().Late
		svc.AddLog(cctx, flowtrace.Log{Name: "after component end"})
		svc.SetOutputs(cctx, map[string]any{"x": 1})
		_, child := svc.TraceComponent(cctx, flowtrace.ComponentInfo{Name: "child of ended"})
		assert.Nil(t, child)
		sum, err := svc.EndTracers(ctx, nil, nil)
		require.NoError(t, err)
		svc.AddLog(ctx, flowtrace.Log{Name: "after run end"})
		svc.SetOutputs(ctx, map[string]any{"x": 2})
		_, c2 := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "after run end"})
		assert.Nil(t, c2)
		assert.Equal(t, lateBefore+6, svc.Stats().Late, "every write through an ended scope is counted late")
		assert.GreaterOrEqual(t, errs.count(flowtrace.ErrComponentEnded)+errs.count(flowtrace.ErrRunEnded), 1)

		run, _ := rec.Run(runID(t, ctx))
		assert.Empty(t, run.Logs, "late writes are not delivered")
		assert.Empty(t, run.Components[0].Logs)
		assert.Empty(t, run.Components[0].Outputs)
		assert.Len(t, run.Components, 1)
		assert.Equal(t, 1, sum.Components)
	})

	t.Run("nil service", func(t *testing.T) {
		var nilSvc *flowtrace.TraceService
		ctx, err := nilSvc.StartTracers(bg, flowtrace.RunInfo{})
		assert.NoError(t, err)
		_, c := nilSvc.TraceComponent(ctx, flowtrace.ComponentInfo{})
		c.End(nil)
		nilSvc.AddLog(ctx, flowtrace.Log{})
		_, err = nilSvc.EndTracers(ctx, nil, nil)
		assert.NoError(t, err)
		assert.NoError(t, nilSvc.Shutdown(ctx))
	})
}

func TestDisabledServiceDoesNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  string
		opts []flowtrace.Option
	}{
		{name: "option", opts: []flowtrace.Option{flowtrace.WithDisabled(true)}},
		{name: "environment", env: "true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("FLOWTRACE_DISABLED", tc.env)
			}
			rec := memory.New()
			svc, err := flowtrace.NewTraceService(append(tc.opts, flowtrace.WithExporter(rec))...)
			require.NoError(t, err)
			bg := context.Background()
			ctx, err := svc.StartTracers(bg, flowtrace.RunInfo{RunName: "x"})
			require.NoError(t, err)
			assert.Equal(t, bg, ctx, "a disabled service returns ctx unchanged")
			cctx, comp := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c"})
			svc.AddLog(cctx, flowtrace.Log{Name: "l"})
			comp.End(nil)
			_, err = svc.EndTracers(ctx, nil, nil)
			require.NoError(t, err)
			require.NoError(t, svc.Shutdown(bg))
			assert.Empty(t, rec.Runs(), "a disabled service records nothing")
		})
	}
	t.Run("option overrides environment", func(t *testing.T) {
		t.Setenv("FLOWTRACE_DISABLED", "true")
		svc, rec, _ := newService(t, flowtrace.WithDisabled(false))
		ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
		require.NoError(t, err)
		_, err = svc.EndTracers(ctx, nil, nil)
		require.NoError(t, err)
		assert.Len(t, rec.Runs(), 1)
	})
}

func TestInvalidOptions(t *testing.T) {
	dup := memory.New()
	for _, tc := range []struct {
		name string
		opt  flowtrace.Option
	}{
		{"nil exporter", flowtrace.WithExporter(nil)},
		{"queue size 0", flowtrace.WithQueueSize(0)},
		{"negative overflow", flowtrace.WithOverflow(flowtrace.BlockFor(-time.Second))},
		{"export timeout 0", flowtrace.WithExportTimeout(0)},
		{"max depth -1", flowtrace.WithMaxDepth(-1)},
		{"max items 0", flowtrace.WithMaxItems(0)},
		{"max string 0", flowtrace.WithMaxStringLen(0)},
		{"max event bytes 0", flowtrace.WithMaxEventBytes(0)},
		{"empty redact key", flowtrace.WithRedactKeys("")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc, err := flowtrace.NewTraceService(tc.opt)
			assert.ErrorIs(t, err, flowtrace.ErrInvalidOption)
			assert.Nil(t, svc)
		})
	}
	t.Run("duplicate exporter names", func(t *testing.T) {
		_, err := flowtrace.NewTraceService(flowtrace.WithExporter(dup), flowtrace.WithExporter(dup))
		assert.ErrorIs(t, err, flowtrace.ErrInvalidOption)
	})
}

func TestStatsCountRuns(t *testing.T) {
	svc, _, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	st := svc.Stats()
	assert.Equal(t, uint64(1), st.RunsStarted)
	assert.Equal(t, uint64(1), st.RunsActive)
	svc.AddLog(ctx, flowtrace.Log{Name: "l"})
	_, err = svc.EndTracers(ctx, nil, nil)
	require.NoError(t, err)
	st = svc.Stats()
	assert.Equal(t, uint64(0), st.RunsActive)
	assert.Equal(t, flowtrace.Delivery{Emitted: 3, Delivered: 3}, st.Exporters["memory"])
}

func TestShutdownRefusesNewRunsAndEndsOpenOnes(t *testing.T) {
	rec := memory.New()
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(rec), flowtrace.WithErrorHandler(func(error) {}))
	require.NoError(t, err)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "open at shutdown"})
	require.NoError(t, err)
	_, _ = svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "still open"})

	require.NoError(t, svc.Shutdown(deadline(t)))
	require.NoError(t, svc.Shutdown(deadline(t)), "Shutdown is idempotent")
	assert.Equal(t, 1, rec.Shutdowns(), "each exporter is shut down once")

	run, ok := rec.Run(runID(t, ctx))
	require.True(t, ok)
	assert.True(t, run.Ended, "Shutdown ends open runs")
	assert.ErrorIs(t, run.Err, flowtrace.ErrShutdown)
	assert.ErrorIs(t, run.Components[0].Err, flowtrace.ErrComponentNotEnded)

	_, err = svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	assert.ErrorIs(t, err, flowtrace.ErrShutdown)
	svc.AddLog(ctx, flowtrace.Log{Name: "after shutdown"}) // late, no panic
	assert.Equal(t, uint64(1), svc.Stats().Late)
}

func TestZeroValuesAreDisabled(t *testing.T) {
	var svc flowtrace.TraceService
	bg := context.Background()
	ctx, err := svc.StartTracers(bg, flowtrace.RunInfo{RunName: "x"})
	require.NoError(t, err)
	assert.Equal(t, bg, ctx, "the zero TraceService records nothing and returns ctx unchanged")
	cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c"})
	svc.AddLog(cctx, flowtrace.Log{Name: "l"})
	svc.SetOutputs(cctx, map[string]any{"x": 1})
	c.End(nil)
	_, err = svc.EndTracers(ctx, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, flowtrace.Stats{}, svc.Stats())
	require.NoError(t, svc.Shutdown(bg))

	assert.NotPanics(t, func() { new(flowtrace.Component).End(nil) }, "End on a zero Component does nothing")
}

func TestDisabledAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	svc, err := flowtrace.NewTraceService(flowtrace.WithDisabled(true))
	require.NoError(t, err)
	bg := context.Background()
	in := map[string]any{"q": "hello"}
	allocs := testing.AllocsPerRun(100, func() {
		ctx, _ := svc.StartTracers(bg, flowtrace.RunInfo{RunName: "r"})
		cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c", Inputs: in})
		svc.AddLog(cctx, flowtrace.Log{Name: "l", Message: "m"})
		svc.SetOutputs(cctx, in)
		c.End(nil)
		_, _ = svc.EndTracers(ctx, in, nil)
	})
	assert.Zero(t, allocs, "a disabled service allocates nothing per call")
}

// TestScopeContextsBehaveAsContexts checks that the ctx a scope returns
// passes through the caller's values, cancellation and deadline.
func TestScopeContextsBehaveAsContexts(t *testing.T) {
	svc, _, _ := newService(t)
	type key struct{}
	parent, cancel := context.WithCancelCause(context.WithValue(context.Background(), key{}, "kept"))
	ctx, err := svc.StartTracers(parent, flowtrace.RunInfo{RunID: "r1"})
	require.NoError(t, err)
	cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{ID: "c1"})
	child, stop := context.WithCancel(cctx)
	defer stop()

	assert.Equal(t, "kept", child.Value(key{}), "the caller's values pass through")
	comp, ok := flowtrace.ComponentFromContext(child)
	require.True(t, ok)
	assert.Equal(t, "c1", comp.ID())
	assert.Contains(t, fmt.Sprint(cctx), "WithFlowtraceComponent(c1)")
	assert.Contains(t, fmt.Sprint(ctx), "WithFlowtraceRun(r1)")

	cause := errors.New("client went away")
	cancel(cause)
	select {
	case <-child.Done():
	case <-deadline(t).Done():
		t.Fatal("cancelling the caller's ctx did not reach a ctx derived from a scope")
	}
	assert.ErrorIs(t, context.Cause(child), cause)
	c.End(nil)
	_, err = svc.EndTracers(context.WithoutCancel(ctx), nil, nil) // the run outlives its caller's ctx
	require.NoError(t, err)
}

// TestShutdownEndsRunsWithoutExporters checks that a run with no exporter
// to deliver to is still a run: Shutdown ends it, and later writes through
// it are late.
func TestShutdownEndsRunsWithoutExporters(t *testing.T) {
	errs := &errorLog{}
	svc, err := flowtrace.NewTraceService(flowtrace.WithErrorHandler(errs.handle))
	require.NoError(t, err)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	assert.Equal(t, uint64(1), svc.Stats().RunsActive)
	require.NoError(t, svc.Shutdown(deadline(t)))

	assert.Zero(t, svc.Stats().RunsActive, "Shutdown should end every open run")
	svc.AddLog(ctx, flowtrace.Log{Name: "after shutdown"})
	assert.Equal(t, uint64(1), svc.Stats().Late, "a write after Shutdown ended the run is late")
	_, err = svc.EndTracers(ctx, nil, nil)
	assert.ErrorIs(t, err, flowtrace.ErrRunEnded, "Shutdown already ended the run")
}

// mutableError is an error its owner changes after handing it over.
type mutableError struct{ msg string }

func (e *mutableError) Error() string { return e.msg }

// panickyError's Error method panics.
type panickyError struct{}

func (panickyError) Error() string { panic("Error exploded") }

// TestErrorsAreRecordedAtCallTime checks that errors passed to End and
// EndTracers are recorded like values: their message as it was, even if
// the caller changes the error afterwards or its Error panics, and nothing
// of the caller's reachable through it (issue 9).
func TestErrorsAreRecordedAtCallTime(t *testing.T) {
	svc, rec, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	_, comp := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c"})
	compErr := &mutableError{msg: "at call time"}
	comp.End(compErr)
	compErr.msg = "changed after End returned" // -race: must not race with delivery
	sum, err := svc.EndTracers(ctx, nil, panickyError{})
	require.NoError(t, err)
	requireBalanced(t, sum)
	assert.Zero(t, sum.Exporters["memory"].Failed)

	run, _ := rec.Run(sum.RunID)
	got := run.Components[0].Err
	require.Error(t, got)
	assert.Equal(t, "at call time", got.Error())
	assert.ErrorIs(t, got, compErr, "errors.Is compares identities, which reveal nothing: it still matches")
	assert.Equal(t, `flowtrace.recordedError("at call time")`, fmt.Sprintf("%#v", got), "%#v prints the snapshot, not the chain")
	var me *mutableError
	assert.False(t, errors.As(got, &me), "errors.As should not reach the caller's error")
	assert.Nil(t, errors.Unwrap(got), "a recorded error should unwrap to nothing")
	require.Error(t, run.Err)
	assert.Contains(t, run.Err.Error(), "!panic in Error")
	var pe panickyError
	assert.False(t, errors.As(run.Err, &pe), "errors.As should not reach the caller's error")
}

func TestDuplicateOpenComponentIDsAreKeptApart(t *testing.T) {
	svc, rec, log := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	_, first := svc.TraceComponent(ctx, flowtrace.ComponentInfo{ID: "node-1", Name: "first"})
	c2ctx, second := svc.TraceComponent(ctx, flowtrace.ComponentInfo{ID: "node-1", Name: "second"})
	cc, _ := flowtrace.ComponentFromContext(c2ctx)
	assert.NotEqual(t, "node-1", cc.ID(), "the second open node-1 gets an ID of its own")
	first.End(nil)
	_, third := svc.TraceComponent(ctx, flowtrace.ComponentInfo{ID: "node-1", Name: "third"})
	second.End(errors.New("second failed"))
	third.End(nil)
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	assert.Equal(t, 1, log.count(flowtrace.ErrDuplicateComponent))
	run, _ := rec.Run(runID(t, ctx))
	require.Len(t, run.Components, 3, "memory refuses duplicate IDs: all three arrived")
	assert.Equal(t, "node-1", component(t, run, "third").Info.ComponentID, "an ID may be reused once its component ended")
	assert.EqualError(t, component(t, run, "second").Err, "second failed")
}

// TestComponentAllocations pins what recording one component allocates on
// the caller's goroutine: the Component; its generated ID, end record and
// inputs' Fields together; the LogEntry; the Outputs with their Fields. Each is a record or part of one that exporters may keep.
func TestComponentAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(&discardExporter{}), flowtrace.WithOverflow(flowtrace.BlockFor(time.Minute)))
	require.NoError(t, err)
	defer func() { require.NoError(t, svc.Shutdown(context.Background())) }()
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "r"})
	require.NoError(t, err)
	in := map[string]any{"q": "hello"}
	allocs := testing.AllocsPerRun(1000, func() {
		cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c", Inputs: in})
		svc.AddLog(cctx, flowtrace.Log{Name: "l", Message: "m"})
		svc.SetOutputs(cctx, in)
		c.End(nil)
	})
	_, err = svc.EndTracers(ctx, nil, nil)
	require.NoError(t, err)
	t.Logf("%v allocations per component", allocs)
	assert.LessOrEqual(t, allocs, 4.0, "allocations per component")
}

package flowtrace_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

// funcCalls make each package-level recording function, and use what it
// returns as a caller would.
var funcCalls = []struct {
	name string
	call func(ctx context.Context)
}{
	{"TraceComponent", func(ctx context.Context) {
		_, c := flowtrace.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c", Inputs: benchInputs})
		c.End(nil)
	}},
	{"AddLog", func(ctx context.Context) { flowtrace.AddLog(ctx, benchLog) }},
	{"SetInputs", func(ctx context.Context) { flowtrace.SetInputs(ctx, benchInputs) }},
	{"SetOutputs", func(ctx context.Context) { flowtrace.SetOutputs(ctx, benchOutputs) }},
	{"RecordModelCall", func(ctx context.Context) { flowtrace.RecordModelCall(ctx, benchCall) }},
	{"StartStream", func(ctx context.Context) { flowtrace.StartStream(ctx).Chunk("hello") }},
	{"Hold", func(ctx context.Context) { flowtrace.Hold(ctx)() }},
	{"EndComponent", func(ctx context.Context) { flowtrace.EndComponent(ctx, nil) }},
}

var benchCall = flowtrace.ModelCall{Model: "gpt-4o", Usage: flowtrace.Usage{InputTokens: 12, OutputTokens: 3}}

// idle is a ctx in which there is nothing to record, and the service that
// would be told about it, if any.
type idle struct {
	name string
	ctx  context.Context
	svc  *flowtrace.TraceService
	log  *errorLog
}

// idleContexts returns the three ctxs in which the functions record
// nothing: one without a run, one from a disabled service's StartTracers
// (which starts none), and an unsampled run's.
func idleContexts(t *testing.T) []idle {
	t.Helper()
	noRunSvc, _, noRunLog := newService(t)
	disabled, err := flowtrace.NewTraceService(flowtrace.WithDisabled(true))
	require.NoError(t, err)
	dctx, err := disabled.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	unsampled, _, unsampledLog := newService(t, flowtrace.WithSampler(flowtrace.NeverSample()))
	uctx, err := unsampled.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = unsampled.EndTracers(within(t, uctx), nil, nil) })
	return []idle{
		{"no run", context.Background(), noRunSvc, noRunLog},
		{"disabled", dctx, disabled, nil},
		{"unsampled", uctx, unsampled, unsampledLog},
	}
}

// TestFuncsWithoutRunAreSilent makes every function in a ctx with no run:
// it does nothing, and since there is no service to report to, nothing is
// reported or counted anywhere — where the method of the same name reports
// ErrNoRun to its service. The same holds for a disabled service and an
// unsampled run.
func TestFuncsWithoutRunAreSilent(t *testing.T) {
	for _, in := range idleContexts(t) {
		t.Run(in.name, func(t *testing.T) {
			for _, c := range funcCalls {
				c.call(in.ctx)
			}
			cctx, comp := flowtrace.TraceComponent(in.ctx, flowtrace.ComponentInfo{Name: "c"})
			assert.Equal(t, in.ctx, cctx, "TraceComponent with nothing to record returns its ctx")
			assert.Nil(t, comp, "TraceComponent with nothing to record returns no component")
			assert.Nil(t, flowtrace.StartStream(in.ctx), "StartStream with nothing to record returns no stream")
			release := flowtrace.Hold(in.ctx)
			require.NotNil(t, release, "Hold always returns a release to call")
			release()
			assert.Zero(t, in.svc.Stats().NoRun, "a function without a run is counted nowhere")
			if in.log != nil {
				assert.Empty(t, in.log.all(), "a function without a run reports nothing")
			}
		})
	}
	t.Run("nil ctx", func(t *testing.T) {
		var ctx context.Context
		for _, c := range funcCalls {
			c.call(ctx)
		}
	})
	t.Run("the method reports what the function does not", func(t *testing.T) {
		svc, _, log := newService(t)
		flowtrace.AddLog(context.Background(), benchLog)
		assert.Empty(t, log.all())
		svc.AddLog(context.Background(), benchLog)
		assert.Equal(t, 1, log.count(flowtrace.ErrNoRun), "the method reports a missing run to its service")
	})
}

// TestFuncsAllocateNothingWithoutRun pins the cost of the functions where
// there is nothing to record: node code instrumented once runs under
// callers that trace and callers that do not.
func TestFuncsAllocateNothingWithoutRun(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, in := range idleContexts(t) {
		for _, c := range funcCalls {
			allocs := testing.AllocsPerRun(1000, func() { c.call(in.ctx) })
			assert.Zero(t, allocs, "%s (%s) allocates", c.name, in.name)
		}
	}
}

// TestFuncsRecordThroughTheRunsService records a run with the functions
// alone: the service appears only where the run starts and ends.
func TestFuncsRecordThroughTheRunsService(t *testing.T) {
	svc, rec, log := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)

	node := func(ctx context.Context) { // has only its ctx
		cctx, _ := flowtrace.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "llm", Type: flowtrace.TypeLLM, Inputs: map[string]any{"q": "hi"}})
		flowtrace.SetInputs(cctx, map[string]any{"streamed": true})
		flowtrace.AddLog(cctx, flowtrace.Log{Name: "prompt", Message: "say hi"})
		st := flowtrace.StartStream(cctx)
		require.Same(t, st, flowtrace.StartStream(cctx), "one stream per scope")
		st.Chunk("hel")
		st.Chunk("lo")
		flowtrace.RecordModelCall(cctx, flowtrace.ModelCall{Model: "gpt-4o", Output: []flowtrace.Message{{Role: "assistant", Content: st.Text()}}})
		flowtrace.SetOutputs(cctx, map[string]any{"text": st.Text()})
		release := flowtrace.Hold(cctx)
		flowtrace.EndComponent(cctx, errors.New("cut short"))
		flowtrace.AddLog(cctx, flowtrace.Log{Name: "after-end", Message: "still held"})
		release()
		flowtrace.EndComponent(cctx, nil) // a second end: reported to the run's service
	}
	node(ctx)
	flowtrace.AddLog(ctx, flowtrace.Log{Name: "run-log"})
	flowtrace.EndComponent(ctx, nil) // the run's own scope: no component to end
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)

	run, ok := rec.Run(runID(t, ctx))
	require.True(t, ok)
	require.Len(t, run.Components, 1)
	c := run.Components[0]
	assert.Equal(t, map[string]any{"q": "hi", "streamed": true}, c.Inputs)
	assert.Equal(t, map[string]any{"text": "hello"}, c.Outputs)
	require.Len(t, c.Logs, 2, "the log written while held is not late")
	assert.Equal(t, "after-end", c.Logs[1].Name)
	call := c.ModelCall()
	assert.Equal(t, "gpt-4o", call.Model)
	assert.Positive(t, call.TimeToFirstChunk, "the stream's time to first chunk is taken by RecordModelCall")
	assert.EqualError(t, c.Err, "cut short", "EndComponent's error, applied at the release of the hold")
	require.Len(t, run.Logs, 1)
	assert.Equal(t, "run-log", run.Logs[0].Name)
	assert.Equal(t, 1, log.count(flowtrace.ErrComponentEnded), "the second end goes to the run's service: %v", log.all())
	assert.Len(t, log.all(), 1, "nothing else is reported: %v", log.all())
}

// TestFuncsConcurrentInOneRun has many goroutines of one run record with
// the functions at once.
func TestFuncsConcurrentInOneRun(t *testing.T) {
	const workers, each = 16, 25
	svc, rec, log := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				cctx, _ := flowtrace.TraceComponent(ctx, flowtrace.ComponentInfo{Name: fmt.Sprintf("w%d-%d", w, i)})
				flowtrace.AddLog(cctx, flowtrace.Log{Name: "l", Message: i})
				flowtrace.SetOutputs(cctx, map[string]any{"i": i})
				flowtrace.AddLog(ctx, flowtrace.Log{Name: "run"})
				flowtrace.EndComponent(cctx, nil)
			}
		}()
	}
	wg.Wait()
	sum, err := svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	requireBalanced(t, sum)
	run, _ := rec.Run(sum.RunID)
	require.Len(t, run.Components, workers*each)
	for _, c := range run.Components {
		assert.True(t, c.Ended, "component %s ended", c.Info.Name)
		assert.NoError(t, c.Err, "component %s", c.Info.Name)
		assert.Len(t, c.Logs, 1, "component %s", c.Info.Name)
		assert.Len(t, c.Outputs, 1, "component %s", c.Info.Name)
	}
	assert.Len(t, run.Logs, workers*each)
	assert.Empty(t, log.all())
}

// TestFuncsUseTheInnermostRunsService nests a run of one service in a
// component of another's run: the functions write through the innermost
// scope, so through the service that owns the inner run, and the outer
// ctx still leads to the outer service.
func TestFuncsUseTheInnermostRunsService(t *testing.T) {
	outer, outerRec, outerLog := newService(t)
	inner, innerRec, innerLog := newService(t)
	octx, err := outer.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "outer"})
	require.NoError(t, err)
	cctx, _ := flowtrace.TraceComponent(octx, flowtrace.ComponentInfo{Name: "call-agent"})

	ictx, err := inner.StartTracers(cctx, flowtrace.RunInfo{RunName: "inner"})
	require.NoError(t, err)
	nctx, _ := flowtrace.TraceComponent(ictx, flowtrace.ComponentInfo{Name: "inner-step"})
	flowtrace.AddLog(nctx, flowtrace.Log{Name: "inner-log"})
	flowtrace.EndComponent(nctx, nil)
	flowtrace.EndComponent(nctx, nil) // reported to the inner run's service
	flowtrace.AddLog(cctx, flowtrace.Log{Name: "outer-log"})
	_, err = inner.EndTracers(within(t, ictx), nil, nil)
	require.NoError(t, err)
	flowtrace.EndComponent(cctx, nil)
	_, err = outer.EndTracers(within(t, octx), nil, nil)
	require.NoError(t, err)

	orun, ok := outerRec.Run(runID(t, octx))
	require.True(t, ok)
	require.Len(t, orun.Components, 1, "the inner run's component is not the outer service's")
	assert.Equal(t, "call-agent", orun.Components[0].Info.Name)
	require.Len(t, orun.Components[0].Logs, 1)
	assert.Equal(t, "outer-log", orun.Components[0].Logs[0].Name)

	irun, ok := innerRec.Run(runID(t, ictx))
	require.True(t, ok)
	assert.Equal(t, runID(t, octx), irun.Info.ParentRunID)
	require.Len(t, irun.Components, 1)
	assert.Equal(t, "inner-step", irun.Components[0].Info.Name)
	require.Len(t, irun.Components[0].Logs, 1)
	assert.Equal(t, "inner-log", irun.Components[0].Logs[0].Name)
	assert.Equal(t, 1, outerRec.Len(), "the outer service recorded only its run")
	assert.Equal(t, 1, innerRec.Len(), "the inner service recorded only its run")

	assert.Empty(t, outerLog.all(), "the inner run's misuse is not the outer service's")
	assert.Equal(t, 1, innerLog.count(flowtrace.ErrComponentEnded))
}

// TestFuncsKeepTwoServicesApart runs runs of two services at once, each
// recorded with the functions alone: each run's writes reach its own
// service's exporter.
func TestFuncsKeepTwoServicesApart(t *testing.T) {
	const runs = 8
	a, recA, logA := newService(t)
	b, recB, logB := newService(t)
	var wg sync.WaitGroup
	for i := range runs {
		for _, svc := range []*flowtrace.TraceService{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := "a"
				if svc == b {
					name = "b"
				}
				ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: name})
				assert.NoError(t, err)
				cctx, _ := flowtrace.TraceComponent(ctx, flowtrace.ComponentInfo{Name: name})
				flowtrace.SetOutputs(cctx, map[string]any{"service": name, "i": i})
				flowtrace.EndComponent(cctx, nil)
				_, err = svc.EndTracers(within(t, ctx), nil, nil)
				assert.NoError(t, err)
			}()
		}
	}
	wg.Wait()
	for name, rec := range map[string]*memory.Exporter{"a": recA, "b": recB} {
		require.Equal(t, runs, rec.Len(), "runs of service %s", name)
		for _, r := range rec.Runs() {
			assert.Equal(t, name, r.Info.RunName)
			require.Len(t, r.Components, 1)
			assert.Equal(t, name, r.Components[0].Info.Name)
			assert.Equal(t, name, r.Components[0].Outputs["service"])
		}
	}
	assert.Empty(t, logA.all())
	assert.Empty(t, logB.all())
}

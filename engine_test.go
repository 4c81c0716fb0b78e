package flowtrace_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

func TestEndComponentEndsWhatItsStartBegan(t *testing.T) {
	svc, rec, log := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)

	// An engine's start callback returns TraceComponent's ctx; its end
	// callback gets it back (perhaps wrapped) and ends it.
	type engineKey struct{}
	cctx, _ := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "node"})
	svc.EndComponent(context.WithValue(cctx, engineKey{}, 1), errors.New("node failed"))

	// A start refused because its parent had ended: ending it must not end
	// anything else.
	pctx, parent := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "parent"})
	_, sibling := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "sibling"})
	parent.End(nil)
	refused, c := svc.TraceComponent(pctx, flowtrace.ComponentInfo{Name: "too-late"})
	assert.Nil(t, c)
	_, isComp := flowtrace.ComponentFromContext(refused)
	assert.False(t, isComp, "a refused start is no component")
	svc.EndComponent(refused, nil)
	svc.AddLog(refused, flowtrace.Log{Name: "late"})
	sibling.End(nil)

	// A ctx of the run itself: no component to end.
	svc.EndComponent(ctx, nil)
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)

	run, _ := rec.Run(runID(t, ctx))
	require.Len(t, run.Components, 3)
	assert.EqualError(t, component(t, run, "node").Err, "node failed")
	assert.NoError(t, component(t, run, "parent").Err)
	assert.NoError(t, component(t, run, "sibling").Err, "the sibling was ended by its own End, not by the refused one's")
	assert.Zero(t, log.count(flowtrace.ErrComponentNotEnded))
	assert.Equal(t, uint64(3), svc.Stats().Late, "the refused start, its end and its write are late")
	require.Len(t, log.all(), 1, "one report: the run's first late write; ending a refused start is not a second End")
}

func TestComponentByIDAndLatestComponent(t *testing.T) {
	svc, rec, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)

	// langchaingo-style: every callback has only the run's ctx.
	start := func(name, typ string) {
		parent, _ := svc.LatestComponent(ctx, "")
		svc.TraceComponent(parent, flowtrace.ComponentInfo{Name: name, Type: typ})
	}
	end := func(typ string, err error) {
		_, c := svc.LatestComponent(ctx, typ)
		require.NotNil(t, c, "an open %s to end", typ)
		c.End(err)
	}
	start("agent", flowtrace.TypeChain)
	start("llm-1", flowtrace.TypeLLM)
	lctx, _ := svc.LatestComponent(ctx, flowtrace.TypeLLM)
	svc.SetOutputs(lctx, map[string]any{"text": "use the tool"})
	end(flowtrace.TypeLLM, nil)
	start("calculator", flowtrace.TypeTool)
	end(flowtrace.TypeTool, errors.New("division by zero"))
	end(flowtrace.TypeChain, nil)
	_, none := svc.LatestComponent(ctx, flowtrace.TypeChain)
	assert.Nil(t, none, "nothing open is found")

	// An engine with call IDs.
	svc.TraceComponent(ctx, flowtrace.ComponentInfo{ID: "call-7", Name: "search", Type: flowtrace.TypeRetriever})
	sctx, s := svc.ComponentByID(ctx, "call-7")
	require.NotNil(t, s)
	svc.AddLog(sctx, flowtrace.Log{Name: "hit"})
	s.End(nil)
	_, gone := svc.ComponentByID(ctx, "call-7")
	assert.Nil(t, gone, "an ended component is not found")
	_, missing := svc.ComponentByID(ctx, "never-started")
	missing.End(nil) // nil-safe

	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	run, _ := rec.Run(runID(t, ctx))
	agent := component(t, run, "agent")
	assert.Equal(t, agent.Info.ComponentID, component(t, run, "llm-1").Info.ParentID)
	assert.Equal(t, agent.Info.ComponentID, component(t, run, "calculator").Info.ParentID)
	assert.EqualError(t, component(t, run, "calculator").Err, "division by zero")
	assert.Equal(t, map[string]any{"text": "use the tool"}, component(t, run, "llm-1").Outputs)
	assert.Len(t, component(t, run, "search").Logs, 1)
	for _, c := range run.Components {
		assert.NotErrorIs(t, c.Err, flowtrace.ErrComponentNotEnded, "component %s ended by its pairing", c.Info.Name)
	}
}

func TestExplicitTimes(t *testing.T) {
	svc, rec, log := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	t0 := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	_, a := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "a", Start: t0})
	a.EndAt(nil, t0.Add(1500*time.Millisecond))
	_, b := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "b", Start: t0})
	b.EndAt(nil, t0.Add(-time.Second))
	var nilComp *flowtrace.Component
	nilComp.EndAt(nil, t0)
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	run, _ := rec.Run(runID(t, ctx))
	ra, rb := component(t, run, "a"), component(t, run, "b")
	assert.True(t, ra.Info.Time.Equal(t0))
	assert.Equal(t, 1500*time.Millisecond, ra.End.Sub(ra.Info.Time))
	assert.True(t, rb.End.Equal(t0), "an end before the start is replaced by the start")
	assert.Equal(t, 1, log.count(flowtrace.ErrEndBeforeStart))
}

// inputsExporter records what SetInputs delivers to an exporter that
// implements InputsExporter.
type inputsExporter struct {
	*memory.Exporter
	mu     sync.Mutex
	inputs []flowtrace.Inputs
}

func (e *inputsExporter) Name() string { return "inputs" }
func (e *inputsExporter) StartRun(ctx context.Context, r flowtrace.RunStart) (flowtrace.RunExporter, error) {
	re, err := e.Exporter.StartRun(ctx, r)
	return inputsRun{re, e}, err
}

type inputsRun struct {
	flowtrace.RunExporter
	e *inputsExporter
}

func (r inputsRun) SetInputs(_ context.Context, in flowtrace.Inputs) error {
	r.e.mu.Lock()
	r.e.inputs = append(r.e.inputs, in)
	r.e.mu.Unlock()
	return nil
}

func TestSetInputs(t *testing.T) {
	ie := &inputsExporter{Exporter: memory.New()}
	plain := &logOnly{Exporter: memory.New()}
	svc, rec, _ := newService(t, flowtrace.WithExporter(ie), flowtrace.WithExporter(plain))
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{Inputs: map[string]any{"question": "q"}, Tags: []string{" prod ", "", "beta", strings.Repeat("é", 200)}})
	require.NoError(t, err)
	cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "stream", Inputs: map[string]any{"model": "m"}})
	in := map[string]any{"chunk": "hello", "api_key": "sk-123456789"}
	svc.SetInputs(cctx, in)
	in["chunk"] = "changed after the call"
	svc.SetInputs(ctx, map[string]any{"late": true})
	c.End(nil)
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)

	run, _ := rec.Run(runID(t, ctx))
	assert.Equal(t, map[string]any{"question": "q"}, run.Info.Inputs.Map())
	assert.Equal(t, map[string]any{"question": "q", "late": true}, run.Inputs, "run inputs merged")
	require.Len(t, run.Info.Tags, 3)
	assert.Equal(t, []string{"prod", "beta"}, run.Info.Tags[:2], "tags trimmed, empty ones dropped")
	assert.LessOrEqual(t, len(run.Info.Tags[2]), flowtrace.MaxTagLen)
	assert.True(t, strings.HasPrefix(strings.Repeat("é", 200), run.Info.Tags[2]), "a long tag is cut between characters")
	assert.Equal(t, map[string]any{"model": "m", "chunk": "hello", "api_key": flowtrace.Masked}, component(t, run, "stream").Inputs,
		"inputs merged with the start's, snapshotted and masked")

	prun, _ := plain.Run(runID(t, ctx))
	logs := component(t, prun, "stream").Logs
	require.Len(t, logs, 1, "an exporter without InputsExporter gets inputs as a log")
	assert.Equal(t, "inputs", logs[0].Name)
	assert.Equal(t, map[string]any{"chunk": "hello", "api_key": flowtrace.Masked}, logs[0].Message)

	ie.mu.Lock()
	defer ie.mu.Unlock()
	require.Len(t, ie.inputs, 2)
	assert.Equal(t, "hello", ie.inputs[0].Values.Map()["chunk"], "an InputsExporter gets the snapshot")
}

func TestHoldKeepsTheRunOpenForAStreamDrain(t *testing.T) {
	svc, rec, log := newService(t)
	const runs = 50
	var wg sync.WaitGroup
	for range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
			if !assert.NoError(t, err) {
				return
			}
			cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "stream", Type: flowtrace.TypeLLM})
			release := svc.Hold(cctx)
			chunks := make(chan string)
			go func() { // the engine's drain: outlives the call that started it
				defer release()
				var text strings.Builder
				for ch := range chunks {
					text.WriteString(ch)
				}
				svc.SetOutputs(cctx, map[string]any{"text": text.String()})
				c.End(nil)
			}()
			go func() {
				for _, ch := range []string{"hel", "lo"} {
					chunks <- ch
				}
				close(chunks)
			}()
			// The natural code: the caller ends the run while the drain runs.
			_, err = svc.EndTracers(within(t, ctx), nil, nil)
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	require.Len(t, rec.Runs(), runs)
	for _, r := range rec.Runs() {
		require.Len(t, r.Components, 1)
		assert.NoError(t, r.Components[0].Err, "the drain ended its component, not EndTracers")
		assert.Equal(t, "hello", r.Components[0].Outputs["text"], "the stream's tail was recorded")
	}
	assert.Zero(t, svc.Stats().Late)
	assert.Empty(t, log.all())
}

func TestHoldPastTheDeadlineIsReportedAndLaterWritesAreLate(t *testing.T) {
	svc, rec, log := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "stuck-stream"})
	release := svc.Hold(cctx)
	release2 := svc.Hold(ctx)
	release2()
	release2() // twice is fine

	short, cancel := context.WithCancel(ctx)
	cancel() // the deadline has passed
	_, err = svc.EndTracers(short, nil, nil)
	require.ErrorIs(t, err, flowtrace.ErrHoldsOpen)
	assert.Contains(t, err.Error(), "stuck-stream", "the error names where the hold was taken")
	assert.ErrorIs(t, err, context.Canceled)

	// The drain finishes after the forced end: counted late, reported once.
	svc.SetOutputs(cctx, map[string]any{"text": "tail"})
	c.End(nil)
	c.End(nil)
	release()
	assert.Equal(t, uint64(3), svc.Stats().Late, "the write and both Ends are late")
	require.Len(t, log.all(), 1, "only the run's first late write is reported: an End after a forced end is not an error")
	late := svc.Hold(ctx)
	require.NotNil(t, late, "Hold after the end returns a release that does nothing")
	late()
	assert.Equal(t, uint64(4), svc.Stats().Late)
	require.NoError(t, svc.Shutdown(deadline(t)), "Shutdown drains what the cut EndTracers left")
	run, _ := rec.Run(runID(t, ctx))
	assert.ErrorIs(t, run.Components[0].Err, flowtrace.ErrComponentNotEnded)
}

func TestHoldOnAComponentDefersItsEnd(t *testing.T) {
	svc, rec, log := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "streamed-input"})
	release := svc.Hold(cctx)
	c.End(errors.New("engine says done")) // the engine's end callback comes first
	c.End(nil)                            // a second End is still misuse
	recorded := make(chan struct{})
	go func() { // the input stream's drain, still recording
		defer close(recorded)
		defer release()
		svc.SetInputs(cctx, map[string]any{"chunk": "tail"})
	}()
	<-recorded
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	run, _ := rec.Run(runID(t, ctx))
	comp := component(t, run, "streamed-input")
	assert.EqualError(t, comp.Err, "engine says done", "ended by its End, once the hold was released")
	assert.Equal(t, map[string]any{"chunk": "tail"}, comp.Inputs, "the input recorded after End is not late")
	assert.Zero(t, svc.Stats().Late)
	assert.Equal(t, 1, log.count(flowtrace.ErrComponentEnded))
}

func TestShutdownDoesNotWaitForHoldsOfARunAlreadyEnded(t *testing.T) {
	svc, _, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	release := svc.Hold(ctx)
	defer release()
	short, cancel := context.WithCancel(ctx)
	cancel()
	_, err = svc.EndTracers(short, nil, nil)
	require.ErrorIs(t, err, flowtrace.ErrHoldsOpen)
	// The hold is still open, but its run has ended: Shutdown must not wait
	// for it (it would wait out its whole ctx).
	require.NoError(t, svc.Shutdown(deadline(t)))
}

func TestLatestComponentStaysUnderItsScope(t *testing.T) {
	svc, rec, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	// Two parallel branches, each a component of its own; callbacks inside
	// each get only its branch's ctx.
	actx, a := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "branch-a"})
	bctx, b := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "branch-b"})
	start := func(scope context.Context, name string) {
		parent, _ := svc.LatestComponent(scope, "")
		svc.TraceComponent(parent, flowtrace.ComponentInfo{Name: name, Type: flowtrace.TypeLLM})
	}
	start(actx, "llm-a")
	start(bctx, "llm-b") // the latest open llm of the run, but not under branch a
	_, la := svc.LatestComponent(actx, flowtrace.TypeLLM)
	require.NotNil(t, la)
	la.End(nil)
	_, lb := svc.LatestComponent(bctx, flowtrace.TypeLLM)
	require.NotNil(t, lb)
	lb.End(errors.New("b failed"))
	_, none := svc.LatestComponent(actx, flowtrace.TypeLLM)
	assert.Nil(t, none)
	a.End(nil)
	b.End(nil)
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	run, _ := rec.Run(runID(t, ctx))
	assert.Equal(t, "run ok\n  branch-a ok\n    llm-a (llm) ok\n  branch-b ok\n    llm-b (llm) error: b failed\n", run.Tree())
}

func TestStreamIsTheComponentsOwn(t *testing.T) {
	svc, rec, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	lctx, llm := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "llm", Type: flowtrace.TypeLLM})
	svc.RecordModelCall(lctx, flowtrace.ModelCall{Model: "m", Input: []flowtrace.Message{{Role: "user", Content: "hi"}}})
	svc.StartStream(lctx).Chunk("hel") // one chunk callback
	svc.StartStream(lctx).Chunk("lo")  // another: the same stream
	st := svc.StartStream(lctx)
	assert.Equal(t, "hello", st.Text())
	svc.RecordModelCall(lctx, flowtrace.ModelCall{Output: []flowtrace.Message{{Role: "assistant", Content: st.Text()}}, Usage: flowtrace.Usage{InputTokens: 2, OutputTokens: 1}})
	llm.End(nil)
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	run, _ := rec.Run(runID(t, ctx))
	c := component(t, run, "llm")
	require.Len(t, c.ModelCalls, 2, "the request at start, the answer at end")
	mc := c.ModelCall()
	assert.Equal(t, "m", mc.Model, "merged: the start's model")
	assert.Equal(t, "hi", mc.Input[0].Content)
	assert.Equal(t, "hello", mc.Output[0].Content)
	assert.Positive(t, mc.TimeToFirstChunk, "taken from the component's stream")
	assert.Equal(t, "run ok\n  llm (llm) ok model=m tokens=2/1\n", run.Tree())
}

// TestComponentByIDIndex checks the index by ID against the open list it
// mirrors: components started before the first named one are found, an ID
// is free again once its component ends, and a duplicate stays apart.
func TestComponentByIDIndex(t *testing.T) {
	svc, _, log := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	const n = 2000 // many open at once: each start with an ID looks up the index
	comps := make([]*flowtrace.Component, n)
	for i := range n {
		_, comps[i] = svc.TraceComponent(ctx, flowtrace.ComponentInfo{ID: fmt.Sprint("call-", i)})
	}
	for _, i := range []int{0, n / 2, n - 1} {
		_, c := svc.ComponentByID(ctx, fmt.Sprint("call-", i))
		assert.Same(t, comps[i], c, "call-%d", i)
	}
	_, dup := svc.TraceComponent(ctx, flowtrace.ComponentInfo{ID: "call-7"})
	require.NotNil(t, dup)
	assert.Equal(t, 1, log.count(flowtrace.ErrDuplicateComponent))
	_, c := svc.ComponentByID(ctx, "call-7")
	assert.Same(t, comps[7], c, "the duplicate got an ID of its own")

	comps[7].End(nil)
	_, c = svc.ComponentByID(ctx, "call-7")
	assert.Nil(t, c, "an ended component is not found")
	_, again := svc.TraceComponent(ctx, flowtrace.ComponentInfo{ID: "call-7"})
	_, c = svc.ComponentByID(ctx, "call-7")
	assert.Same(t, again, c, "an ID is free again once its component ended")
	_, c = svc.ComponentByID(ctx, "nobody")
	assert.Nil(t, c)
	_, err = svc.EndTracers(ctx, nil, nil)
	require.NoError(t, err)
}

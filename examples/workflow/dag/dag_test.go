package dag_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/examples/workflow/dag"
	"github.com/flowtrace/flowtrace/exporter/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitLimit bounds every wait on the engine: a hang fails the test rather
// than the whole binary. It is a deadline, never a duration waited for.
const waitLimit = 30 * time.Second

// newService returns a service recording into a memory exporter; the test
// fails if the library reports any error, and the service is shut down
// (its goroutines gone) when the test ends.
func newService(t *testing.T) (*flowtrace.TraceService, *memory.Exporter) {
	t.Helper()
	rec := memory.New()
	var mu sync.Mutex
	var reported []error
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(rec), flowtrace.WithErrorHandler(func(err error) {
		mu.Lock()
		defer mu.Unlock()
		reported = append(reported, err)
	}))
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		require.NoError(t, svc.Shutdown(ctx))
		mu.Lock()
		defer mu.Unlock()
		assert.Empty(t, reported, "the library reported errors")
	})
	return svc, rec
}

// flow10 is the 10-node flow of examples/workflow (and BenchmarkRun10):
// three parallel starts, a join, the LLM call, two parallel checks, a
// join, a last step. llm, when not nil, replaces the fake model's wait.
func flow10(t testing.TB, llm func(ctx context.Context) error) *dag.Graph {
	t.Helper()
	step := func(out map[string]any) func(context.Context, map[string]any) (map[string]any, error) {
		return func(context.Context, map[string]any) (map[string]any, error) { return out, nil }
	}
	model := func(ctx context.Context, in map[string]any) (map[string]any, error) {
		if llm != nil {
			if err := llm(ctx); err != nil {
				return nil, err
			}
		}
		prompt := in["build-prompt"].(map[string]any)["prompt"].(string)
		answer := "answer to " + prompt
		flowtrace.RecordModelCall(ctx, flowtrace.ModelCall{
			Model: "fake-gpt", Provider: "test",
			Input:  []flowtrace.Message{{Role: "user", Content: prompt}},
			Output: []flowtrace.Message{{Role: "assistant", Content: answer}},
			Usage:  flowtrace.Usage{InputTokens: 12, OutputTokens: 5, TotalTokens: 17},
		})
		return map[string]any{"text": answer}, nil
	}
	g, err := dag.New("support",
		dag.Node{Name: "load-profile", Type: flowtrace.TypeRetriever, Run: step(map[string]any{"plan": "pro"})},
		dag.Node{Name: "load-history", Type: flowtrace.TypeRetriever, Run: step(map[string]any{"tickets": 2})},
		dag.Node{Name: "search", Type: flowtrace.TypeRetriever, Run: step(map[string]any{"documents": []string{"faq-3", "faq-9"}})},
		dag.Node{Name: "rerank", Type: flowtrace.TypeReranker, Deps: []string{"search"}, Run: step(map[string]any{"documents": []string{"faq-9"}})},
		dag.Node{Name: "build-prompt", Type: flowtrace.TypePrompt, Deps: []string{"load-profile", "load-history", "rerank"},
			Run: func(_ context.Context, in map[string]any) (map[string]any, error) {
				return map[string]any{"prompt": fmt.Sprintf("%v (plan %v)", in["question"], in["load-profile"].(map[string]any)["plan"])}, nil
			}},
		dag.Node{Name: "answer", Type: flowtrace.TypeLLM, Deps: []string{"build-prompt"}, Run: model},
		dag.Node{Name: "moderate", Type: flowtrace.TypeGuardrail, Deps: []string{"answer"}, Run: step(map[string]any{"flagged": false})},
		dag.Node{Name: "extract-actions", Type: flowtrace.TypeTool, Deps: []string{"answer"}, Run: step(map[string]any{"actions": 0})},
		dag.Node{Name: "format", Type: flowtrace.TypeChain, Deps: []string{"moderate", "extract-actions"}, Run: step(map[string]any{"reply": "ok"})},
		dag.Node{Name: "save", Type: flowtrace.TypeTool, Deps: []string{"format"}, Run: step(map[string]any{"saved": true})},
	)
	require.NoError(t, err)
	return g
}

// tree10 is flow10's run, siblings sorted by name (parallel nodes start
// in no fixed order): every node directly under the run.
const tree10 = `support ok
  answer (llm) ok model=fake-gpt tokens=12/5
  build-prompt (prompt) ok
  extract-actions (tool) ok
  format (chain) ok
  load-history (retriever) ok
  load-profile (retriever) ok
  moderate (guardrail) ok
  rerank (reranker) ok
  save (tool) ok
  search (retriever) ok
`

// component returns the component of r named name.
func component(t *testing.T, r memory.Run, name string) memory.Component {
	t.Helper()
	for _, c := range r.Components {
		if c.Info.Name == name {
			return c
		}
	}
	require.Failf(t, "component not recorded", "no component %q in run %s", name, r.Info.RunID)
	return memory.Component{}
}

// checkRun10 asserts that run id is flow10's complete run for question.
func checkRun10(t *testing.T, rec *memory.Exporter, g *dag.Graph, id, question string) {
	t.Helper()
	r, ok := rec.Run(id)
	require.True(t, ok, "run %s recorded", id)
	require.Equal(t, tree10, r.SortedTree())
	require.Len(t, r.Components, 10)
	assert.Equal(t, map[string]any{"question": question}, r.Info.Inputs.Map())
	assert.Equal(t, map[string]any{"nodes": int64(10)}, r.Outputs, "records hold integers as int64")
	assert.NoError(t, r.Err)

	ends := map[string]time.Time{}
	for _, c := range r.Components {
		ends[c.Info.Name] = c.End
	}
	deps := map[string][]string{
		"rerank": {"search"}, "build-prompt": {"load-profile", "load-history", "rerank"}, "answer": {"build-prompt"},
		"moderate": {"answer"}, "extract-actions": {"answer"}, "format": {"moderate", "extract-actions"}, "save": {"format"},
	}
	for _, c := range r.Components {
		assert.Empty(t, c.Info.ParentID, "%s is directly under the run", c.Info.Name)
		assert.Equal(t, r.Info.SpanID, c.Info.ParentSpanID, "%s's span is a child of the run's", c.Info.Name)
		for _, d := range deps[c.Info.Name] {
			assert.False(t, c.Info.Time.Before(ends[d]), "%s started before its dependency %s ended", c.Info.Name, d)
		}
	}

	prompt := fmt.Sprintf("%s (plan pro)", question)
	llm := component(t, r, "answer")
	assert.Equal(t, map[string]any{"text": "answer to " + prompt}, llm.Outputs)
	assert.Equal(t, map[string]any{"prompt": prompt}, llm.Inputs["build-prompt"], "the LLM's inputs are its dependency's outputs")
	call := llm.ModelCall()
	assert.Equal(t, "fake-gpt", call.Model)
	assert.Equal(t, flowtrace.Usage{InputTokens: 12, OutputTokens: 5, TotalTokens: 17}, call.Usage)
	assert.Equal(t, []flowtrace.Message{{Role: "user", Content: prompt}}, call.Input)
	assert.Equal(t, map[string]any{"saved": true}, component(t, r, "save").Outputs)
}

func TestRunRecordsEachNodeUnderTheRun(t *testing.T) {
	svc, rec := newService(t)
	g := flow10(t, nil)
	res, err := dag.NewEngine(svc).Run(context.Background(), g, flowtrace.RunInfo{SessionID: "s1"}, map[string]any{"question": "where is my order?"})
	require.NoError(t, err)
	assert.Nil(t, res.Checkpoint)
	assert.Len(t, res.Outputs, 10)
	checkRun10(t, rec, g, res.RunID, "where is my order?")
}

func TestConcurrentRunsStayApart(t *testing.T) {
	svc, rec := newService(t)
	g := flow10(t, nil)
	eng := dag.NewEngine(svc)
	const runs = 50
	ids := make([]string, runs)
	errs := make([]error, runs)
	var wg sync.WaitGroup
	for i := range runs {
		wg.Go(func() {
			res, err := eng.Run(context.Background(), g, flowtrace.RunInfo{SessionID: fmt.Sprint("s", i)}, map[string]any{"question": fmt.Sprint("q", i)})
			errs[i] = err
			if res != nil {
				ids[i] = res.RunID
			}
		})
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	require.Equal(t, runs, rec.Len())
	for i, id := range ids {
		checkRun10(t, rec, g, id, fmt.Sprint("q", i))
	}
}

func TestFailingNodeStopsTheRun(t *testing.T) {
	svc, rec := newService(t)
	boom := errors.New("boom")
	slowStarted := make(chan struct{})
	g, err := dag.New("fails",
		dag.Node{Name: "a", Run: func(context.Context, map[string]any) (map[string]any, error) { return map[string]any{"a": 1}, nil }},
		dag.Node{Name: "b", Deps: []string{"a"}, Run: func(ctx context.Context, _ map[string]any) (map[string]any, error) {
			<-slowStarted // fail while "slow" runs, so that it is cancelled
			return nil, boom
		}},
		dag.Node{Name: "c", Deps: []string{"b"}, Run: func(context.Context, map[string]any) (map[string]any, error) {
			t.Error("c ran after its dependency failed")
			return nil, nil
		}},
		dag.Node{Name: "slow", Deps: []string{"a"}, Run: func(ctx context.Context, _ map[string]any) (map[string]any, error) {
			close(slowStarted)
			<-ctx.Done()
			return nil, ctx.Err()
		}},
	)
	require.NoError(t, err)

	// Under a deadline: were "slow" never cancelled, Run would fail with
	// DeadlineExceeded instead of hanging.
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	res, err := dag.NewEngine(svc).Run(ctx, g, flowtrace.RunInfo{}, nil)
	require.ErrorIs(t, err, boom)
	assert.Equal(t, map[string]map[string]any{"a": {"a": 1}}, res.Outputs)
	r, ok := rec.Run(res.RunID)
	require.True(t, ok)
	assert.Equal(t, `fails error: node b: boom
  a ok
  b error: node b: boom
  slow error: node slow: context canceled
`, r.SortedTree())
	require.ErrorIs(t, r.Err, boom, "the run records the first failure")
	assert.ErrorIs(t, component(t, r, "b").Err, boom)
	assert.False(t, r.Suspended, "a failed run is not suspended")
}

func TestPanickingNodeFailsItsRunOnly(t *testing.T) {
	svc, rec := newService(t)
	g, err := dag.New("panics", dag.Node{Name: "p", Run: func(context.Context, map[string]any) (map[string]any, error) { panic("bug") }})
	require.NoError(t, err)
	res, err := dag.NewEngine(svc).Run(context.Background(), g, flowtrace.RunInfo{}, nil)
	require.EqualError(t, err, "node p: panic: bug")
	r, _ := rec.Run(res.RunID)
	assert.Equal(t, "panics error: node p: panic: bug\n  p error: node p: panic: bug\n", r.Tree())
}

func TestCancelledRunReturnsPromptly(t *testing.T) {
	svc, rec := newService(t)
	inLLM := make(chan struct{})
	g := flow10(t, func(ctx context.Context) error {
		close(inLLM)
		<-ctx.Done() // a model that answers only when cancelled
		return ctx.Err()
	})
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		res *dag.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := dag.NewEngine(svc).Run(ctx, g, flowtrace.RunInfo{}, map[string]any{"question": "q"})
		done <- result{res, err}
	}()
	select {
	case <-inLLM:
	case <-time.After(waitLimit):
		t.Fatal("the LLM node never started")
	}
	cancel()
	var got result
	select {
	case got = <-done:
	case <-time.After(waitLimit):
		t.Fatal("Run did not return after its ctx was cancelled")
	}
	require.ErrorIs(t, got.err, context.Canceled)
	assert.Len(t, got.res.Outputs, 5, "the nodes before the LLM finished")
	r, ok := rec.Run(got.res.RunID)
	require.True(t, ok)
	assert.Equal(t, `support error: run cancelled: context canceled
  answer (llm) error: node answer: context canceled
  build-prompt (prompt) ok
  load-history (retriever) ok
  load-profile (retriever) ok
  rerank (reranker) ok
  search (retriever) ok
`, r.SortedTree())
	assert.ErrorIs(t, r.Err, context.Canceled)
}

// refund pauses at "approve" until it is given a decision.
func refund(t *testing.T) *dag.Graph {
	t.Helper()
	ok := func(out map[string]any) func(context.Context, map[string]any) (map[string]any, error) {
		return func(context.Context, map[string]any) (map[string]any, error) { return out, nil }
	}
	g, err := dag.New("refund",
		dag.Node{Name: "check-order", Type: flowtrace.TypeTool, Run: ok(map[string]any{"refundable": true})},
		dag.Node{Name: "audit-log", Type: flowtrace.TypeTool, Run: ok(map[string]any{"logged": true})},
		dag.Node{Name: "approve", Type: "human", Deps: []string{"check-order"}, Run: func(_ context.Context, in map[string]any) (map[string]any, error) {
			decision, ok := in[dag.ResumeKey].(map[string]any)
			if !ok {
				return nil, dag.Pause("needs approval")
			}
			return decision, nil
		}},
		dag.Node{Name: "pay", Type: flowtrace.TypeTool, Deps: []string{"approve"}, Run: func(_ context.Context, in map[string]any) (map[string]any, error) {
			return map[string]any{"paid": in["approve"].(map[string]any)["approved"] == true, "amount": in["amount"]}, nil
		}},
		dag.Node{Name: "notify", Type: flowtrace.TypeTool, Deps: []string{"pay", "audit-log"}, Run: ok(map[string]any{"sent": true})},
	)
	require.NoError(t, err)
	return g
}

func TestPauseThenResumeInTheSameTrace(t *testing.T) {
	svc, rec := newService(t)
	g := refund(t)
	eng := dag.NewEngine(svc)

	first, err := eng.Run(context.Background(), g, flowtrace.RunInfo{SessionID: "s9", UserID: "u9"}, map[string]any{"amount": 480})
	require.NoError(t, err)
	require.NotNil(t, first.Checkpoint, "the run paused")
	assert.Equal(t, map[string]string{"approve": "needs approval"}, first.Checkpoint.Paused)
	r1, ok := rec.Run(first.RunID)
	require.True(t, ok)
	assert.Equal(t, "refund suspended\n  approve (human) suspended\n  audit-log (tool) ok\n  check-order (tool) ok\n", r1.SortedTree())
	assert.True(t, r1.Suspended, "a paused run is suspended, not finished")
	assert.NoError(t, r1.Err)
	assert.Equal(t, first.RunID, first.Checkpoint.Trace.RunID)

	// The checkpoint goes through bytes to another engine with a service
	// of its own, as to another process.
	saved, err := json.Marshal(first.Checkpoint)
	require.NoError(t, err)
	svc2, rec2 := newService(t)
	eng2 := dag.NewEngine(svc2)
	type result struct {
		res *dag.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		var cp dag.Checkpoint
		if err := json.Unmarshal(saved, &cp); err != nil {
			done <- result{nil, err}
			return
		}
		res, err := eng2.Resume(context.Background(), g, &cp, map[string]any{"approved": true})
		done <- result{res, err}
	}()
	var second result
	select {
	case second = <-done:
	case <-time.After(waitLimit):
		t.Fatal("Resume did not return")
	}
	require.NoError(t, second.err)
	assert.Nil(t, second.res.Checkpoint)
	assert.Equal(t, map[string]any{"paid": true, "amount": float64(480)}, second.res.Outputs["pay"], "inputs come back from the checkpoint")
	assert.Len(t, second.res.Outputs, 5)

	r2, ok := rec2.Run(second.res.RunID)
	require.True(t, ok)
	assert.Equal(t, "refund (resumed) ok\n  approve (human) ok\n  notify (tool) ok\n  pay (tool) ok\n", r2.SortedTree(), "only the remaining nodes run")
	assert.Equal(t, r1.Info.TraceID, r2.Info.TraceID, "same trace")
	assert.Equal(t, "s9", r2.Info.SessionID, "same session")
	assert.Equal(t, "u9", r2.Info.UserID)
	assert.Equal(t, r1.Info.RunID, r2.Info.ParentRunID)
	assert.Equal(t, r1.Info.SpanID, r2.Info.ParentSpanID, "the resumed run's parent is the suspended run")
	assert.True(t, r2.Info.Resumed, "it says it is a continuation")
	assert.False(t, r2.Info.ParentRemote, "a continuation, not a remote child")
	assert.False(t, r2.Suspended)
	assert.Equal(t, map[string]any{"approved": true}, component(t, r2, "approve").Inputs[dag.ResumeKey])
}

func TestRefusesMissingGraphOrCheckpoint(t *testing.T) {
	svc, _ := newService(t)
	g := refund(t)
	eng := dag.NewEngine(svc)
	_, err := eng.Resume(context.Background(), g, nil, nil)
	require.Error(t, err)
	_, err = eng.Resume(context.Background(), g, &dag.Checkpoint{Graph: "other"}, nil)
	require.Error(t, err)
	_, err = eng.Resume(context.Background(), nil, &dag.Checkpoint{}, nil)
	require.ErrorIs(t, err, dag.ErrInvalidGraph)
	_, err = eng.Run(context.Background(), nil, flowtrace.RunInfo{}, nil)
	require.ErrorIs(t, err, dag.ErrInvalidGraph)
}

func TestNewRefusesInvalidGraphs(t *testing.T) {
	run := func(context.Context, map[string]any) (map[string]any, error) { return nil, nil }
	tests := []struct {
		name  string
		nodes []dag.Node
		want  string
	}{
		{"no name", []dag.Node{{Run: run}}, "node 0 has no name"},
		{"no run", []dag.Node{{Name: "a"}}, `node "a" has no Run`},
		{"duplicate", []dag.Node{{Name: "a", Run: run}, {Name: "a", Run: run}}, `duplicate node "a"`},
		{"unknown dependency", []dag.Node{{Name: "a", Deps: []string{"b"}, Run: run}}, `node "a" depends on unknown node "b"`},
		{"repeated dependency", []dag.Node{{Name: "a", Run: run}, {Name: "b", Deps: []string{"a", "a"}, Run: run}}, `node "b" depends on "a" twice`},
		{"self", []dag.Node{{Name: "a", Deps: []string{"a"}, Run: run}}, "cycle a -> a"},
		{"cycle", []dag.Node{
			{Name: "x", Run: run}, {Name: "a", Deps: []string{"x", "c"}, Run: run},
			{Name: "b", Deps: []string{"a"}, Run: run}, {Name: "c", Deps: []string{"b"}, Run: run},
		}, "cycle a -> c -> b -> a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := dag.New("g", tt.nodes...)
			require.ErrorIs(t, err, dag.ErrInvalidGraph)
			assert.ErrorContains(t, err, tt.want)
			assert.Nil(t, g)
		})
	}
	g, err := dag.New("empty")
	require.NoError(t, err, "an empty graph is valid")
	assert.Equal(t, "empty", g.Name())
}

package ftlangchaingo_test

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
	"github.com/tmc/langchaingo/agents"
	"github.com/tmc/langchaingo/chains"
	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/schema"
	"github.com/tmc/langchaingo/tools"
	"github.com/tmc/langchaingo/vectorstores"
	"go.uber.org/goleak"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/contrib/ftlangchaingo"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// errorLog collects what the service reports to its error handler.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorLog) handle(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

func (l *errorLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

func newService(t *testing.T) (*flowtrace.TraceService, *memory.Exporter, *errorLog) {
	t.Helper()
	rec, log := memory.New(), &errorLog{}
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(rec), flowtrace.WithErrorHandler(log.handle),
		flowtrace.WithOverflow(flowtrace.BlockFor(time.Minute)))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, svc.Shutdown(deadline(t))) })
	return svc, rec, log
}

// deadline bounds a wait on the library (EndTracers, Shutdown) so that a
// hang fails the test instead of stalling it.
func deadline(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// engine is what a user builds once and shares between runs: models,
// an agent and a retrieval chain, all calling back into one Handler.
type engine struct {
	h                     *ftlangchaingo.Handler
	agent, streamingAgent *agents.Executor
	silentAgent           *agents.Executor // its model reports no error
	rag                   chains.RetrievalQA
}

func newEngine(svc *flowtrace.TraceService) *engine {
	h := ftlangchaingo.NewHandler(svc)
	model := &fakeModel{CallbacksHandler: h.WithModel("fake", "fake-model")}
	streaming := &fakeModel{CallbacksHandler: h.WithModel("fake", "fake-stream"), stream: true}
	silent := &fakeModel{CallbacksHandler: h.WithModel("fake", "fake-silent"), silentErrors: true}
	agent := func(m llms.Model) *agents.Executor {
		ts := []tools.Tool{searchTool{CallbacksHandler: h}}
		return agents.NewExecutor(agents.NewOneShotAgent(m, ts, agents.WithCallbacksHandler(h)),
			agents.WithCallbacksHandler(h), agents.WithMaxIterations(3))
	}
	retriever := vectorstores.ToRetriever(store{}, 2)
	retriever.CallbacksHandler = h
	return &engine{
		h: h, agent: agent(model), streamingAgent: agent(streaming), silentAgent: agent(silent),
		rag: chains.NewRetrievalQAFromLLM(streaming, retriever),
	}
}

// run runs one request the way a user does: StartTracers, the engine
// call, EndTracers.
func run(t *testing.T, svc *flowtrace.TraceService, name string, call func(context.Context) (string, error)) string {
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: name})
	require.NoError(t, err)
	out, err := call(ctx)
	ectx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	sum, endErr := svc.EndTracers(ectx, map[string]any{"answer": out}, err)
	require.NoError(t, endErr)
	for name, d := range sum.Exporters {
		require.Equal(t, d.Emitted, d.Delivered, "exporter %s delivered every event of run %s", name, sum.RunID)
	}
	rc, _ := flowtrace.RunFromContext(ctx)
	return rc.RunID()
}

func recorded(t *testing.T, rec *memory.Exporter, id string) memory.Run {
	t.Helper()
	r, ok := rec.Run(id)
	require.True(t, ok, "run %s recorded", id)
	return r
}

const agentTree = `agent ok
  chain (chain) ok
    chain (chain) ok
      fake-model (llm) ok model=fake-model tokens=20/5
    tool (tool) ok
    chain (chain) ok
      fake-model (llm) ok model=fake-model tokens=30/4
`

func TestAgent(t *testing.T) {
	svc, rec, log := newService(t)
	e := newEngine(svc)
	id := run(t, svc, "agent", func(ctx context.Context) (string, error) {
		return chains.Run(ctx, e.agent, "what is six times seven?")
	})
	r := recorded(t, rec, id)
	require.Equal(t, agentTree, r.Tree())
	assert.Equal(t, map[string]any{"answer": "42"}, r.Outputs)

	executor := r.Components[0]
	assert.Equal(t, map[string]any{"input": "what is six times seven?"}, executor.Inputs)
	assert.Equal(t, map[string]any{"output": "42"}, executor.Outputs)
	require.Len(t, executor.Logs, 2, "the agent's action and finish, logged on the executor")
	assert.Equal(t, "agent_action", executor.Logs[0].Name)
	assert.Equal(t, flowtrace.TypeAgent, executor.Logs[0].Type)
	assert.Equal(t, "search", executor.Logs[0].Message.(map[string]any)["tool"])
	assert.Equal(t, "what is six times seven?", executor.Logs[0].Message.(map[string]any)["tool_input"])
	assert.Equal(t, "agent_finish", executor.Logs[1].Name)
	assert.Equal(t, map[string]any{"output": "42"}, executor.Logs[1].Message.(map[string]any)["return_values"])

	tool := r.Components[3]
	assert.Equal(t, map[string]any{"input": "what is six times seven?"}, tool.Inputs)
	assert.Equal(t, map[string]any{"output": "results for what is six times seven?"}, tool.Outputs)

	llm := r.Components[2]
	require.Len(t, llm.ModelCalls, 2, "the request at the start, the answer at the end")
	in := llm.ModelCalls[0].Call.Input
	require.Len(t, in, 1)
	assert.Equal(t, "user", in[0].Role)
	assert.Contains(t, in[0].Content, "Question: what is six times seven?")
	answer := llm.ModelCalls[1].Call
	assert.Equal(t, "fake", answer.Provider)
	assert.Equal(t, "fake-model", answer.Model)
	assert.Equal(t, flowtrace.Usage{InputTokens: 20, OutputTokens: 5, TotalTokens: 25}, answer.Usage)
	assert.Equal(t, []string{"stop"}, answer.FinishReasons)
	require.Len(t, answer.Output, 1)
	assert.Equal(t, "assistant", answer.Output[0].Role)
	assert.Contains(t, answer.Output[0].Content, "Action: search")
	assert.Zero(t, answer.TimeToFirstChunk, "not streamed")

	assert.Empty(t, log.all(), "nothing reported")
	assert.Zero(t, svc.Stats().Late)
}

func TestRetrievalQAStreamed(t *testing.T) {
	svc, rec, log := newService(t)
	e := newEngine(svc)
	id := run(t, svc, "rag", func(ctx context.Context) (string, error) {
		return chains.Run(ctx, e.rag, "capital of France?", chains.WithCallback(e.h))
	})
	r := recorded(t, rec, id)
	require.Equal(t, ragTree, r.Tree())
	retriever := r.Components[0]
	assert.Equal(t, map[string]any{"query": "capital of France?"}, retriever.Inputs)
	assert.Equal(t, map[string]any{"documents": []any{
		map[string]any{"page_content": docs[0].PageContent, "metadata": map[string]any{"src": "a"}, "score": 0.9},
		map[string]any{"page_content": docs[1].PageContent, "metadata": map[string]any{"src": "b"}, "score": 0.5},
	}}, retriever.Outputs)
	llm := r.Components[1]
	require.Len(t, llm.ModelCalls, 2)
	assert.Contains(t, llm.ModelCalls[0].Call.Input[0].Content, "Paris is the capital of France.", "the documents reached the model")
	assert.Positive(t, llm.ModelCalls[1].Call.TimeToFirstChunk, "streamed: time to first chunk stamped")
	assert.Equal(t, ragAnswer, llm.ModelCalls[1].Call.Output[0].Content)
	assert.Empty(t, log.all())
}

const ragTree = `rag ok
  retriever (retriever) ok
  fake-stream (llm) ok model=fake-stream tokens=40/6
`

// TestConcurrentRuns runs 100 requests at once through one Handler and
// shared engines — agents that succeed, stream, fail in a tool or in a
// model that reports no error; retrieval that streams or fails — and
// checks each run's tree exactly.
func TestConcurrentRuns(t *testing.T) {
	svc, rec, log := newService(t)
	e := newEngine(svc)
	streamedAgent := strings.ReplaceAll(agentTree, "fake-model", "fake-stream")
	cases := []struct {
		name string
		call func(ctx context.Context, i int) (string, error)
		tree string
	}{
		{"agent ok", func(ctx context.Context, i int) (string, error) {
			return chains.Run(ctx, e.agent, fmt.Sprintf("question %d", i))
		}, agentTree},
		{"tool error", func(ctx context.Context, i int) (string, error) {
			return chains.Run(ctx, e.agent, fmt.Sprintf("question %d tool-fail", i))
		}, `agent error: search failed
  chain (chain) error: search failed
    chain (chain) ok
      fake-model (llm) ok model=fake-model tokens=20/5
    tool (tool) error: search failed
`},
		{"agent streamed", func(ctx context.Context, i int) (string, error) {
			return chains.Run(ctx, e.streamingAgent, fmt.Sprintf("question %d", i))
		}, streamedAgent},
		{"model error not called back", func(ctx context.Context, i int) (string, error) {
			return chains.Run(ctx, e.silentAgent, fmt.Sprintf("question %d llm-fail", i))
		}, `agent error: model unavailable
  chain (chain) error: model unavailable
    chain (chain) error: model unavailable
      fake-silent (llm) error: model unavailable
`},
		{"rag streamed", func(ctx context.Context, i int) (string, error) {
			return chains.Run(ctx, e.rag, fmt.Sprintf("question %d", i), chains.WithCallback(e.h))
		}, ragTree},
		{"retriever error", func(ctx context.Context, i int) (string, error) {
			return chains.Run(ctx, e.rag, fmt.Sprintf("question %d store-fail", i), chains.WithCallback(e.h))
		}, `rag error: index offline
  retriever (retriever) not ended
`},
	}
	const runs = 100
	ids := make([]string, runs)
	var wg sync.WaitGroup
	for i := range runs {
		c := cases[i%len(cases)]
		name, _, _ := strings.Cut(c.tree, " ")
		wg.Go(func() {
			ids[i] = run(t, svc, name, func(ctx context.Context) (string, error) { return c.call(ctx, i) })
		})
	}
	wg.Wait()

	for i, id := range ids {
		c := cases[i%len(cases)]
		r := recorded(t, rec, id)
		require.Equal(t, c.tree, r.Tree(), "run %d (%s)", i, c.name)
		for _, comp := range r.Components {
			if comp.Info.Type != flowtrace.TypeLLM || comp.Err != nil {
				continue
			}
			answer := comp.ModelCalls[len(comp.ModelCalls)-1].Call
			assert.Equal(t, answer.Usage.InputTokens+answer.Usage.OutputTokens, answer.Usage.TotalTokens)
			if strings.HasPrefix(comp.Info.Name, "fake-stream") {
				assert.Positive(t, answer.TimeToFirstChunk, "run %d (%s): streamed model call", i, c.name)
			}
			if c.name != "rag streamed" {
				// Each run's own question reached its own model call.
				assert.Contains(t, comp.ModelCalls[0].Call.Input[0].Content, fmt.Sprintf("question %d", i))
			}
		}
	}
	assert.Empty(t, log.all(), "nothing reported")
	st := svc.Stats()
	assert.Zero(t, st.Late, "no late writes")
	assert.Zero(t, st.RunsActive)
	assert.Equal(t, uint64(runs), st.RunsStarted)
}

// TestApplyParallelChains shows the limit of pairing without IDs:
// chains.Apply runs one chain for several inputs in parallel with one ctx.
// Which start an end pairs with is then a guess; what holds is that runs
// stay separate, every start is recorded with a parent in its run, every
// component is ended, and nothing waits. What does not hold: exact
// parents and exact pairs — and a write may find its component ended by
// a sibling's end (late, and reported).
func TestApplyParallelChains(t *testing.T) {
	svc, rec, log := newService(t)
	h := ftlangchaingo.NewHandler(svc)
	model := &fakeModel{CallbacksHandler: h.WithModel("fake", "fake-model")}
	stuff := chains.LoadStuffQA(model)
	stuff.LLMChain.CallbacksHandler = h
	const inputs = 20
	ids := make([]string, 2)
	var wg sync.WaitGroup
	for k := range ids {
		wg.Go(func() {
			ids[k] = run(t, svc, fmt.Sprintf("apply-%d", k), func(ctx context.Context) (string, error) {
				in := make([]map[string]any, inputs)
				for i := range in {
					in[i] = map[string]any{"input_documents": docs, "question": fmt.Sprintf("run %d question %d", k, i)}
				}
				out, err := chains.Apply(ctx, stuff, in, 5)
				return fmt.Sprint(len(out)), err
			})
		})
	}
	wg.Wait()

	for k, id := range ids {
		r := recorded(t, rec, id)
		require.Len(t, r.Components, 2*inputs, "a chain and a model call for each input")
		byID := map[string]bool{}
		for _, c := range r.Components {
			byID[c.Info.ComponentID] = true
		}
		types := map[string]int{}
		for _, c := range r.Components {
			types[c.Info.Type]++
			assert.True(t, c.Ended, "every component ended")
			assert.True(t, c.Info.ParentID == "" || byID[c.Info.ParentID], "a parent in its own run")
			for _, mc := range c.ModelCalls {
				for _, m := range mc.Call.Input {
					assert.Contains(t, m.Content, fmt.Sprintf("run %d question", k), "no model call of another run")
				}
			}
		}
		assert.Equal(t, map[string]int{flowtrace.TypeChain: inputs, flowtrace.TypeLLM: inputs}, types)
		t.Logf("run %d after Apply:\n%s", k, r.Tree())
	}
	for _, err := range log.all() {
		assert.ErrorIs(t, err, flowtrace.ErrComponentEnded, "the only reports: a component a sibling ended")
	}
	t.Logf("late writes: %d; reports: %d", svc.Stats().Late, len(log.all()))
}

func TestUsageFromProviders(t *testing.T) {
	type mistralUsage struct{ PromptTokens, CompletionTokens, TotalTokens int }
	tests := []struct {
		name  string
		infos []map[string]any
		model string
		want  flowtrace.Usage
	}{
		{"openai", []map[string]any{{"PromptTokens": 12, "CompletionTokens": 3, "TotalTokens": 15, "ReasoningTokens": 2,
			"ThinkingTokens": 2, "PromptCachedTokens": 4}}, "",
			flowtrace.Usage{InputTokens: 12, OutputTokens: 3, TotalTokens: 15, CacheReadTokens: 4, ReasoningTokens: 2}},
		{"anthropic, cached input counted in", []map[string]any{{"InputTokens": 10, "OutputTokens": 5,
			"CacheReadInputTokens": 100, "CacheCreationInputTokens": 20}}, "",
			flowtrace.Usage{InputTokens: 130, OutputTokens: 5, TotalTokens: 135, CacheReadTokens: 100, CacheWriteTokens: 20}},
		{"bedrock", []map[string]any{{"input_tokens": 7, "output_tokens": 2}}, "",
			flowtrace.Usage{InputTokens: 7, OutputTokens: 2, TotalTokens: 9}},
		{"googleai", []map[string]any{{"input_tokens": int32(8), "output_tokens": int32(1), "total_tokens": int32(9),
			"PromptTokens": int32(8), "CompletionTokens": int32(1), "TotalTokens": int32(9), "CachedTokens": int32(3)}}, "",
			flowtrace.Usage{InputTokens: 8, OutputTokens: 1, TotalTokens: 9, CacheReadTokens: 3}},
		{"mistral, a usage struct and the model", []map[string]any{{"model": "mistral-small",
			"usage": mistralUsage{PromptTokens: 6, CompletionTokens: 4, TotalTokens: 10}}}, "mistral-small",
			flowtrace.Usage{InputTokens: 6, OutputTokens: 4, TotalTokens: 10}},
		{"numbers decoded from JSON", []map[string]any{{"PromptTokens": 5.0, "CompletionTokens": 1.0}}, "",
			flowtrace.Usage{InputTokens: 5, OutputTokens: 1, TotalTokens: 6}},
		{"usage repeated in each choice is not summed", []map[string]any{
			{"PromptTokens": 12, "CompletionTokens": 3}, {"PromptTokens": 12, "CompletionTokens": 3}}, "",
			flowtrace.Usage{InputTokens: 12, OutputTokens: 3, TotalTokens: 15}},
		{"none", []map[string]any{nil}, "", flowtrace.Usage{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, rec, _ := newService(t)
			h := ftlangchaingo.NewHandler(svc)
			id := run(t, svc, "usage", func(ctx context.Context) (string, error) {
				h.HandleLLMGenerateContentStart(ctx, []llms.MessageContent{llms.TextParts(llms.ChatMessageTypeHuman, "hi")})
				res := &llms.ContentResponse{}
				for _, info := range tt.infos {
					res.Choices = append(res.Choices, &llms.ContentChoice{Content: "hello", GenerationInfo: info})
				}
				h.HandleLLMGenerateContentEnd(ctx, res)
				return "", nil
			})
			r := recorded(t, rec, id)
			require.Len(t, r.Components, 1)
			require.Len(t, r.Components[0].ModelCalls, 2)
			call := r.Components[0].ModelCalls[1].Call
			assert.Equal(t, tt.want, call.Usage)
			assert.Equal(t, tt.model, call.Model)
		})
	}
}

func TestMessagesKeepTheirStructure(t *testing.T) {
	svc, rec, _ := newService(t)
	h := ftlangchaingo.NewHandler(svc).WithModel("openai", "gpt-4o")
	id := run(t, svc, "chat", func(ctx context.Context) (string, error) {
		h.HandleLLMGenerateContentStart(ctx, []llms.MessageContent{
			llms.TextParts(llms.ChatMessageTypeSystem, "be brief"),
			{Role: llms.ChatMessageTypeHuman, Parts: []llms.ContentPart{llms.TextPart("what is this?"), llms.ImageURLPart("https://x/cat.png"), llms.BinaryPart("image/png", []byte{1, 2, 3})}},
			{Role: llms.ChatMessageTypeAI, Parts: []llms.ContentPart{llms.ToolCall{ID: "call_1", Type: "function",
				FunctionCall: &llms.FunctionCall{Name: "lookup", Arguments: `{"q":"cat"}`}}}},
			{Role: llms.ChatMessageTypeTool, Parts: []llms.ContentPart{llms.ToolCallResponse{ToolCallID: "call_1", Name: "lookup", Content: "a cat"}}},
		})
		h.HandleLLMGenerateContentEnd(ctx, &llms.ContentResponse{Choices: []*llms.ContentChoice{
			{Content: "A cat.", StopReason: "stop"},
			{StopReason: "tool_calls", ToolCalls: []llms.ToolCall{{ID: "call_2", FunctionCall: &llms.FunctionCall{Name: "zoom", Arguments: "{}"}}}},
			{StopReason: "function_call", FuncCall: &llms.FunctionCall{Name: "legacy", Arguments: "[]"}},
		}})
		return "", nil
	})
	r := recorded(t, rec, id)
	require.Equal(t, "chat ok\n  gpt-4o (llm) ok model=gpt-4o\n", r.Tree())
	calls := r.Components[0].ModelCalls
	require.Len(t, calls, 2)
	assert.Equal(t, []flowtrace.Message{
		{Role: "system", Content: "be brief"},
		{Role: "user", Content: "what is this?\n[image https://x/cat.png]\n[image/png, 3 bytes]"},
		{Role: "assistant", ToolCalls: []flowtrace.ToolCall{{ID: "call_1", Name: "lookup", Arguments: `{"q":"cat"}`}}},
		{Role: "tool", Name: "lookup", ToolCallID: "call_1", Content: "a cat"},
	}, calls[0].Call.Input)
	assert.Equal(t, []flowtrace.Message{
		{Role: "assistant", Content: "A cat."},
		{Role: "assistant", ToolCalls: []flowtrace.ToolCall{{ID: "call_2", Name: "zoom", Arguments: "{}"}}},
		{Role: "assistant", ToolCalls: []flowtrace.ToolCall{{Name: "legacy", Arguments: "[]"}}},
	}, calls[1].Call.Output)
	assert.Equal(t, []string{"stop", "tool_calls", "function_call"}, calls[1].Call.FinishReasons)
	assert.Equal(t, "openai", calls[1].Call.Provider)
}

// TestEndsPairWithTheirOwnKind checks the hazards of pairing by kind: an
// end with no open start of its kind ends nothing (not the parent), and a
// chain that ends closes what its callbacks left open inside it.
func TestEndsPairWithTheirOwnKind(t *testing.T) {
	svc, rec, log := newService(t)
	h := ftlangchaingo.NewHandler(svc)
	boom := errors.New("boom")
	id := run(t, svc, "pairs", func(ctx context.Context) (string, error) {
		h.HandleChainStart(ctx, map[string]any{"q": 1})
		h.HandleToolEnd(ctx, "no tool is open")     // ends nothing
		h.HandleLLMError(ctx, boom)                 // ends nothing
		h.HandleRetrieverStart(ctx, "q")            // a retriever that fails without a callback
		h.HandleLLMGenerateContentStart(ctx, nil)   // a model that fails without a callback
		h.HandleStreamingFunc(ctx, []byte("chunk")) // streams into the model call
		h.HandleText(ctx, "hello")
		h.HandleChainError(ctx, boom)
		h.HandleChainEnd(ctx, nil) // ends nothing: the chain has ended

		h.HandleChainStart(ctx, nil)
		h.HandleToolStart(ctx, "x")          // a tool whose end is never called back
		h.HandleLLMStart(ctx, []string{"p"}) // the older start, from prompts
		h.HandleLLMGenerateContentEnd(ctx, &llms.ContentResponse{Choices: []*llms.ContentChoice{{Content: "a"}}})
		h.HandleChainEnd(ctx, map[string]any{"out": 1})
		return "", nil
	})
	r := recorded(t, rec, id)
	require.Equal(t, `pairs ok
  chain (chain) error: boom
    retriever (retriever) error: boom
      llm (llm) error: boom
  chain (chain) ok
    tool (tool) not ended
      llm (llm) ok
`, r.Tree())
	assert.ErrorContains(t, r.Components[4].Err, "its end was not called back before its parent's")
	assert.Equal(t, []flowtrace.Message{{Role: "user", Content: "p"}}, r.Components[5].ModelCalls[0].Call.Input)
	require.Len(t, r.Components[2].Logs, 1)
	assert.Equal(t, "hello", r.Components[2].Logs[0].Message)
	assert.Empty(t, log.all())
	assert.Zero(t, svc.Stats().Late)
}

func TestWithoutARun(t *testing.T) {
	svc, rec, log := newService(t)
	var none *ftlangchaingo.Handler
	for _, h := range []*ftlangchaingo.Handler{none, none.WithModel("p", "m"), new(ftlangchaingo.Handler), ftlangchaingo.NewHandler(nil), ftlangchaingo.NewHandler(svc)} {
		ctx := context.Background()
		h.HandleChainStart(ctx, nil)
		h.HandleLLMStart(ctx, []string{"hi"})
		h.HandleStreamingFunc(ctx, []byte("x"))
		h.HandleLLMGenerateContentEnd(ctx, &llms.ContentResponse{})
		h.HandleToolStart(ctx, "x")
		h.HandleAgentFinish(ctx, schema.AgentFinish{})
		h.HandleText(ctx, "x")
		h.HandleChainEnd(ctx, nil)
	}
	assert.Zero(t, rec.Len(), "nothing recorded")
	errs := log.all()
	require.NotEmpty(t, errs, "a Handler used without a run says so")
	for _, err := range errs {
		assert.ErrorIs(t, err, flowtrace.ErrNoRun)
	}
	assert.GreaterOrEqual(t, svc.Stats().NoRun, uint64(8), "each callback without a run counted")
}

// TestUnsampledAndDisabled checks that a run the sampler left out, and a
// disabled service, cost the engine nothing: no record, no report, no
// stream kept.
func TestUnsampledAndDisabled(t *testing.T) {
	for _, opt := range []flowtrace.Option{flowtrace.WithSampler(flowtrace.NeverSample()), flowtrace.WithDisabled(true)} {
		rec, log := memory.New(), &errorLog{}
		svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(rec), flowtrace.WithErrorHandler(log.handle), opt)
		require.NoError(t, err)
		e := newEngine(svc)
		ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "agent"})
		require.NoError(t, err)
		out, err := chains.Run(ctx, e.streamingAgent, "what is six times seven?")
		require.NoError(t, err)
		assert.Equal(t, "42", out, "the engine works the same")
		_, err = svc.EndTracers(ctx, nil, nil)
		require.NoError(t, err)
		require.NoError(t, svc.Shutdown(deadline(t)))
		assert.Zero(t, rec.Len())
		assert.Empty(t, log.all())
	}
}

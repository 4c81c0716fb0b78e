package flowtrace_test

import (
	"context"
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

func TestModelCallsReachExporters(t *testing.T) {
	plain := &logOnly{Exporter: memory.New()}
	svc, rec, _ := newService(t, flowtrace.WithExporter(plain))
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "chat"})
	require.NoError(t, err)
	lctx, llm := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "gpt", Type: flowtrace.TypeLLM})
	params := map[string]any{"temperature": 0.2, "api_key": "sk-live-0123456789"}
	svc.RecordModelCall(lctx, flowtrace.ModelCall{
		Model: "gpt-4o", Provider: "openai", Parameters: params,
		Input:  []flowtrace.Message{{Role: "user", Content: "2+2?"}},
		Output: []flowtrace.Message{{Role: "assistant", ToolCalls: []flowtrace.ToolCall{{ID: "c1", Name: "calc", Arguments: `{"x":2}`}}}},
		Usage:  flowtrace.Usage{InputTokens: 12, OutputTokens: 3, TotalTokens: 15, CacheReadTokens: 4},
		Cost:   0.0002, FinishReasons: []string{"tool_calls"}, TimeToFirstChunk: 120 * time.Millisecond,
	})
	params["temperature"] = 1.0 // after the call: not recorded
	llm.End(nil)
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)

	run, _ := rec.Run(runID(t, ctx))
	assert.Equal(t, "chat ok\n  gpt (llm) ok model=gpt-4o tokens=12/3\n", run.Tree())
	mc := component(t, run, "gpt").ModelCalls
	require.Len(t, mc, 1)
	c := mc[0].Call
	assert.Equal(t, 0.2, c.Parameters["temperature"])
	assert.Equal(t, flowtrace.Masked, c.Parameters["api_key"], "parameters are masked like any value")
	assert.Equal(t, int64(4), c.Usage.CacheReadTokens)
	assert.Equal(t, "calc", c.Output[0].ToolCalls[0].Name)
	assert.Equal(t, []string{"tool_calls"}, c.FinishReasons)

	// An exporter without ModelCallExporter gets a log.
	prun, _ := plain.Run(runID(t, ctx))
	logs := component(t, prun, "gpt").Logs
	require.Len(t, logs, 1)
	assert.Equal(t, "model_call", logs[0].Name)
	m := logs[0].Message.(map[string]any)
	assert.Equal(t, "gpt-4o", m["model"])
	assert.Equal(t, map[string]any{"input_tokens": int64(12), "output_tokens": int64(3), "total_tokens": int64(15), "cache_read_tokens": int64(4)}, m["usage"])
	assert.Equal(t, "120ms", m["time_to_first_chunk"])
}

// logOnly hides the memory exporter's optional interfaces.
type logOnly struct{ *memory.Exporter }

func (e *logOnly) Name() string { return "log-only" }
func (e *logOnly) StartRun(ctx context.Context, r flowtrace.RunStart) (flowtrace.RunExporter, error) {
	re, err := e.Exporter.StartRun(ctx, r)
	return struct{ flowtrace.RunExporter }{re}, err
}

func TestStreamAccumulatesWithABound(t *testing.T) {
	svc, rec, _ := newService(t, flowtrace.WithMaxStringLen(10))
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	lctx, llm := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "stream", Type: flowtrace.TypeLLM})
	st := svc.StartStream(lctx)
	assert.Zero(t, st.TimeToFirstChunk())
	var wg sync.WaitGroup
	for _, ch := range []string{"héllo ", "wörld ", "and more"} {
		wg.Add(1)
		go func() { defer wg.Done(); st.Chunk(ch) }()
		wg.Wait()
	}
	text := st.Text()
	assert.True(t, strings.HasSuffix(text, "…(truncated 12 B)"), "got %q", text)
	assert.LessOrEqual(t, len(strings.TrimSuffix(text, "…(truncated 12 B)")), 10)
	assert.Positive(t, st.TimeToFirstChunk())
	svc.RecordModelCall(lctx, flowtrace.ModelCall{Output: []flowtrace.Message{{Role: "assistant", Content: text}}, TimeToFirstChunk: st.TimeToFirstChunk()})
	llm.End(nil)
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	run, _ := rec.Run(runID(t, ctx))
	require.Len(t, component(t, run, "stream").ModelCalls, 1)

	var nilStream *flowtrace.Stream
	nilStream.Chunk("x")
	assert.Empty(t, nilStream.Text())
	assert.Nil(t, svc.StartStream(context.Background()), "no run, no stream")
}

func TestModelCallsAreScrubbedOfTheRunsSecrets(t *testing.T) {
	svc, rec, _ := newService(t)
	const key = "sk-live-0123456789abcdef"
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{Inputs: map[string]any{"api_key": key}})
	require.NoError(t, err)
	lctx, llm := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "llm", Type: flowtrace.TypeLLM})
	svc.RecordModelCall(lctx, flowtrace.ModelCall{
		Parameters: map[string]any{"max_tokens": 64, "note": "using " + key},
		Input:      []flowtrace.Message{{Role: "user", Content: "my key is " + key}},
		Output:     []flowtrace.Message{{Role: "assistant", ToolCalls: []flowtrace.ToolCall{{Name: "call", Arguments: `{"k":"` + key + `"}`}}}},
	})
	svc.SetInputs(lctx, map[string]any{"echo": key})
	llm.End(nil)
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	run, _ := rec.Run(runID(t, ctx))
	c := component(t, run, "llm")
	mc := c.ModelCall()
	assert.Equal(t, int64(64), mc.Parameters["max_tokens"], "a token count is not a secret")
	for _, s := range []string{fmt.Sprint(mc.Parameters), mc.Input[0].Content, mc.Output[0].ToolCalls[0].Arguments, fmt.Sprint(c.Inputs)} {
		assert.NotContains(t, s, key, "a secret seen once is masked everywhere in the run")
	}
}

func TestMessagesRecordCompactly(t *testing.T) {
	svc, rec, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	svc.SetOutputs(ctx, map[string]any{"messages": []flowtrace.Message{
		{Role: "user", Content: "hi"},
		{Role: "assistant", ToolCalls: []flowtrace.ToolCall{{ID: "1", Name: "f", Arguments: "{}"}}},
	}})
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	run, _ := rec.Run(runID(t, ctx))
	assert.Equal(t, []any{
		map[string]any{"role": "user", "content": "hi"},
		map[string]any{"role": "assistant", "content": "", "tool_calls": []any{map[string]any{"id": "1", "name": "f", "arguments": "{}"}}},
	}, run.Outputs["messages"], "messages by their fields, without the empty ones")
}

func TestModelCallResponseFieldsAreLabels(t *testing.T) {
	plain := &logOnly{Exporter: memory.New()}
	svc, rec, _ := newService(t, flowtrace.WithExporter(plain))
	const key = "sk-live-0123456789abcdef"
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{Inputs: map[string]any{"api_key": key}})
	require.NoError(t, err)
	lctx, llm := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "llm", Type: flowtrace.TypeLLM})
	svc.RecordModelCall(lctx, flowtrace.ModelCall{
		Model: "gpt-4o", ResponseID: "  chatcmpl-" + key + " ", ResponseModel: "gpt-4o-2024-08-06" + strings.Repeat("x", 2*flowtrace.MaxTagLen),
		Stream: true,
	})
	llm.End(nil)
	sctx, streamed := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "streamed", Type: flowtrace.TypeLLM})
	svc.StartStream(sctx).Chunk("hi")
	streamed.End(nil)
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)

	run, _ := rec.Run(runID(t, ctx))
	mc := component(t, run, "llm").ModelCalls
	require.Len(t, mc, 1)
	c := mc[0].Call
	assert.True(t, strings.HasPrefix(c.ResponseID, "chatcmpl-"), "a label is trimmed: %q", c.ResponseID)
	assert.NotContains(t, c.ResponseID, key, "the run's secrets are scrubbed from the response ID")
	assert.LessOrEqual(t, len(c.ResponseModel), flowtrace.MaxTagLen, "a label is bounded")
	assert.True(t, strings.HasPrefix(c.ResponseModel, "gpt-4o-2024-08-06"))
	assert.True(t, c.Stream, "Stream is recorded")
	sm := component(t, run, "streamed").ModelCalls
	require.Len(t, sm, 1)
	assert.True(t, sm[0].Call.Stream, "a Stream's own record says it was streamed")

	prun, _ := plain.Run(runID(t, ctx))
	m := component(t, prun, "llm").Logs[0].Message.(map[string]any)
	assert.Equal(t, c.ResponseID, m["response_id"], "the fallback log carries the response ID")
	assert.Equal(t, c.ResponseModel, m["response_model"])
	assert.Equal(t, true, m["stream"])
}

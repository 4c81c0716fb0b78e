package otelspans_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/otelspans"
)

func TestModelCallsAsOpenInferenceAndGenAI(t *testing.T) {
	b := newBridge(t, []otelspans.Option{otelspans.WithConventions(otelspans.OpenInference | otelspans.GenAI)}, withIDs)
	ctx, err := b.svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "chat", Tags: []string{"prod", "beta"}, Inputs: map[string]any{"q": "2+2?"}})
	require.NoError(t, err)
	lctx, llm := b.svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "gpt", Type: flowtrace.TypeLLM, Inputs: map[string]any{"prompt": "2+2?"}})
	b.svc.SetInputs(lctx, map[string]any{"stream": true})
	b.svc.RecordModelCall(lctx, flowtrace.ModelCall{
		Model: "gpt-4o", Provider: "openai", Parameters: map[string]any{"temperature": 0.1, "max_tokens": 64},
		Input:  []flowtrace.Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "2+2?"}},
		Output: []flowtrace.Message{{Role: "assistant", ToolCalls: []flowtrace.ToolCall{{ID: "call-1", Name: "calc", Arguments: `{"e":"2+2"}`}}}},
		Usage:  flowtrace.Usage{InputTokens: 20, OutputTokens: 5, TotalTokens: 25, CacheReadTokens: 8, ReasoningTokens: 2},
		Cost:   0.00042, FinishReasons: []string{"tool_calls"}, TimeToFirstChunk: 250 * time.Millisecond,
	})
	llm.End(nil)
	b.end(t, ctx, nil, nil)

	s := b.byName(t, "gpt")
	a := attrs(s)
	assert.Equal(t, "gpt-4o", a[otelspans.KeyLLMModelName].AsString())
	assert.Equal(t, "openai", a[otelspans.KeyLLMProvider].AsString())
	assert.JSONEq(t, `{"temperature":0.1,"max_tokens":64}`, a[otelspans.KeyLLMInvocationParams].AsString(), "max_tokens is a count, not a secret")
	assert.Equal(t, int64(20), a[otelspans.KeyLLMTokensPrompt].AsInt64())
	assert.Equal(t, int64(5), a[otelspans.KeyLLMTokensCompletion].AsInt64())
	assert.Equal(t, int64(25), a[otelspans.KeyLLMTokensTotal].AsInt64())
	assert.Equal(t, int64(8), a[otelspans.KeyLLMTokensCacheRead].AsInt64())
	assert.Equal(t, int64(2), a[otelspans.KeyLLMTokensReasoning].AsInt64())
	assert.InDelta(t, 0.00042, a[otelspans.KeyLLMCostTotal].AsFloat64(), 1e-12)
	assert.Equal(t, "system", a["llm.input_messages.0.message.role"].AsString())
	assert.Equal(t, "2+2?", a["llm.input_messages.1.message.content"].AsString())
	assert.Equal(t, "calc", a["llm.output_messages.0.message.tool_calls.0.tool_call.function.name"].AsString())
	assert.Equal(t, `{"e":"2+2"}`, a["llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments"].AsString())
	assert.Equal(t, "gpt-4o", a[otelspans.KeyGenAIRequestModel].AsString())
	assert.Equal(t, "openai", a[otelspans.KeyGenAIProviderName].AsString())
	assert.Equal(t, int64(20), a[otelspans.KeyGenAIInputTokens].AsInt64())
	assert.Equal(t, []string{"tool_calls"}, a[otelspans.KeyGenAIFinishReasons].AsStringSlice())
	assert.InDelta(t, 0.25, a[otelspans.KeyGenAITimeToFirst].AsFloat64(), 1e-9)
	assert.JSONEq(t, `{"prompt":"2+2?","stream":true}`, a[otelspans.KeyOIInputValue].AsString(), "inputs set after the start are merged in")

	root := attrs(b.byName(t, "chat"))
	assert.Equal(t, []string{"prod", "beta"}, root[otelspans.KeyOITags].AsStringSlice())
	assert.JSONEq(t, `{"q":"2+2?"}`, root[otelspans.KeyOIInputValue].AsString())
}

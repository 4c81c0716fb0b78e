package otelspans_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/otelspans"
)

var genAIOnly = []otelspans.Option{otelspans.WithConventions(otelspans.GenAI)}

func TestGenAISpanNames(t *testing.T) {
	b := newBridge(t, genAIOnly, withIDs)
	ctx, err := b.svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "triage"})
	require.NoError(t, err)
	actx, agent := b.svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "planner", Type: flowtrace.TypeAgent})
	lctx, llm := b.svc.TraceComponent(actx, flowtrace.ComponentInfo{Name: "ask", Type: flowtrace.TypeLLM})
	b.svc.RecordModelCall(lctx, flowtrace.ModelCall{Model: "gpt-4o"})
	llm.End(nil)
	ectx, emb := b.svc.TraceComponent(actx, flowtrace.ComponentInfo{Name: "embed", Type: flowtrace.TypeEmbedding})
	b.svc.RecordModelCall(ectx, flowtrace.ModelCall{Model: "text-embedding-3-small"})
	emb.End(nil)
	_, unnamed := b.svc.TraceComponent(actx, flowtrace.ComponentInfo{Name: "no-model", Type: flowtrace.TypeLLM})
	unnamed.End(nil)
	_, tool := b.svc.TraceComponent(actx, flowtrace.ComponentInfo{Name: "calc", Type: flowtrace.TypeTool})
	tool.End(nil)
	agent.End(nil)
	b.end(t, ctx, nil, nil)

	run := b.byName(t, "invoke_workflow triage")
	assert.Equal(t, "invoke_workflow", str(t, run, otelspans.KeyGenAIOperationName))
	assert.Equal(t, "triage", str(t, run, otelspans.KeyGenAIWorkflowName))
	assert.Equal(t, "invoke_agent", str(t, b.byName(t, "invoke_agent planner"), otelspans.KeyGenAIOperationName))
	assert.Equal(t, "chat", str(t, b.byName(t, "chat gpt-4o"), otelspans.KeyGenAIOperationName))
	assert.Equal(t, "embeddings", str(t, b.byName(t, "embeddings text-embedding-3-small"), otelspans.KeyGenAIOperationName))
	assert.Equal(t, "calc", str(t, b.byName(t, "execute_tool calc"), otelspans.KeyGenAIToolName))
	b.byName(t, "no-model") // no model named: the component's name stays
}

func TestBothConventionsKeepComponentNames(t *testing.T) {
	b := newBridge(t, []otelspans.Option{otelspans.WithConventions(otelspans.OpenInference | otelspans.GenAI)}, withIDs)
	ctx, err := b.svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "triage"})
	require.NoError(t, err)
	_, tool := b.svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "calc", Type: flowtrace.TypeTool})
	tool.End(nil)
	b.end(t, ctx, nil, nil)
	run := b.byName(t, "triage")
	assert.Equal(t, "invoke_workflow", str(t, run, otelspans.KeyGenAIOperationName), "the attributes are GenAI's")
	assert.Equal(t, "triage", str(t, run, otelspans.KeyGenAIWorkflowName))
	assert.Equal(t, "execute_tool", str(t, b.byName(t, "calc"), otelspans.KeyGenAIOperationName))
}

// modelCallSpan records call in an llm component and returns its span's
// attributes.
func modelCallSpan(t *testing.T, opts []otelspans.Option, call flowtrace.ModelCall) map[string]attribute.Value {
	t.Helper()
	return recordOn(t, newBridge(t, opts, withIDs), call)
}

func recordOn(t *testing.T, b *bridge, call flowtrace.ModelCall) map[string]attribute.Value {
	t.Helper()
	ctx, err := b.svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "r"})
	require.NoError(t, err)
	lctx, llm := b.svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "llm", Type: flowtrace.TypeLLM, Inputs: map[string]any{"q": "hi"}})
	b.svc.SetOutputs(lctx, map[string]any{"a": "hello"})
	b.svc.RecordModelCall(lctx, call)
	llm.End(nil)
	b.end(t, ctx, nil, nil)
	for _, s := range b.spans.Ended() {
		if id, ok := attrs(s)[otelspans.KeyComponentID]; ok && id.AsString() != "" {
			return attrs(s)
		}
	}
	t.Fatal("no component span")
	return nil
}

func TestGenAIModelCallKeys(t *testing.T) {
	a := modelCallSpan(t, genAIOnly, flowtrace.ModelCall{
		Model: "gpt-4o", Provider: "openai", ResponseID: "chatcmpl-123", ResponseModel: "gpt-4o-2024-08-06", Stream: true,
		Parameters: map[string]any{"max_completion_tokens": 256, "temperature": 0.3, "top_p": 0.9, "top_k": 40,
			"frequency_penalty": 0.5, "presence_penalty": 0.25, "seed": 7, "stop": []string{"END", "STOP"}, "n": 2,
			"encoding_format": "float"},
		Input:            []flowtrace.Message{{Role: "user", Content: "secret prompt"}},
		Usage:            flowtrace.Usage{InputTokens: 20, OutputTokens: 9, CacheReadTokens: 8, CacheWriteTokens: 3, ReasoningTokens: 2},
		FinishReasons:    []string{"stop"},
		TimeToFirstChunk: 1500 * time.Millisecond,
	})
	for _, tc := range []struct {
		key  string
		want attribute.Value
	}{
		{otelspans.KeyGenAIRequestModel, attribute.StringValue("gpt-4o")},
		{otelspans.KeyGenAIProviderName, attribute.StringValue("openai")},
		{otelspans.KeyGenAIResponseID, attribute.StringValue("chatcmpl-123")},
		{otelspans.KeyGenAIResponseModel, attribute.StringValue("gpt-4o-2024-08-06")},
		{otelspans.KeyGenAIRequestStream, attribute.BoolValue(true)},
		{otelspans.KeyGenAIRequestMaxTokens, attribute.Int64Value(256)},
		{otelspans.KeyGenAIRequestTemperature, attribute.Float64Value(0.3)},
		{otelspans.KeyGenAIRequestTopP, attribute.Float64Value(0.9)},
		{otelspans.KeyGenAIRequestTopK, attribute.Float64Value(40)},
		{otelspans.KeyGenAIRequestFrequencyPenalty, attribute.Float64Value(0.5)},
		{otelspans.KeyGenAIRequestPresencePenalty, attribute.Float64Value(0.25)},
		{otelspans.KeyGenAIRequestSeed, attribute.Int64Value(7)},
		{otelspans.KeyGenAIRequestStopSequences, attribute.StringSliceValue([]string{"END", "STOP"})},
		{otelspans.KeyGenAIRequestChoiceCount, attribute.Int64Value(2)},
		{otelspans.KeyGenAIRequestEncodingFormats, attribute.StringSliceValue([]string{"float"})},
		{otelspans.KeyGenAIInputTokens, attribute.Int64Value(20)},
		{otelspans.KeyGenAIOutputTokens, attribute.Int64Value(9)},
		{otelspans.KeyGenAICacheReadTokens, attribute.Int64Value(8)},
		{otelspans.KeyGenAICacheCreationTokens, attribute.Int64Value(3)},
		{otelspans.KeyGenAIReasoningTokens, attribute.Int64Value(2)},
		{otelspans.KeyGenAIFinishReasons, attribute.StringSliceValue([]string{"stop"})},
		{otelspans.KeyGenAITimeToFirst, attribute.Float64Value(1.5)},
	} {
		t.Run(tc.key, func(t *testing.T) {
			got, ok := a[tc.key]
			require.True(t, ok, "want %s written", tc.key)
			assert.Equal(t, tc.want, got)
		})
	}
	for _, k := range []string{otelspans.KeyGenAIInputMessages, otelspans.KeyGenAIOutputMessages, otelspans.KeyGenAISystemInstructions} {
		assert.NotContains(t, a, k, "message content is off unless %s is true", otelspans.EnvCaptureMessageContent)
	}
	assert.NotContains(t, a, otelspans.KeyLLMModelName, "GenAI alone writes no OpenInference key")
}

func TestGenAIParametersOfOtherShapes(t *testing.T) {
	a := modelCallSpan(t, genAIOnly, flowtrace.ModelCall{Model: "claude", Parameters: map[string]any{
		"max_tokens": 1024, "stop_sequences": "\n\nHuman:", "n": 1, "temperature": "hot", "stream": true}})
	assert.Equal(t, int64(1024), a[otelspans.KeyGenAIRequestMaxTokens].AsInt64())
	assert.Equal(t, []string{"\n\nHuman:"}, a[otelspans.KeyGenAIRequestStopSequences].AsStringSlice(), "a single stop string is a list of one")
	assert.NotContains(t, a, otelspans.KeyGenAIRequestChoiceCount, "n=1 is not written, as the conventions ask")
	assert.NotContains(t, a, otelspans.KeyGenAIRequestTemperature, "a value of the wrong type is left out")
	assert.True(t, a[otelspans.KeyGenAIRequestStream].AsBool(), "stream among the parameters counts too")
}

func TestGenAIMessageContent(t *testing.T) {
	t.Setenv(otelspans.EnvCaptureMessageContent, "true")
	call := flowtrace.ModelCall{
		Model: "m",
		Input: []flowtrace.Message{
			{Role: "system", Content: "be brief"},
			{Role: "user", Content: "weather?"},
			{Role: "assistant", ToolCalls: []flowtrace.ToolCall{{ID: "c1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
			{Role: "tool", ToolCallID: "c1", Content: "rainy"},
		},
		Output:        []flowtrace.Message{{Role: "assistant", Content: "Rainy.", Name: "bot"}},
		FinishReasons: []string{"stop"},
	}
	const history = `{"role":"user","parts":[{"type":"text","content":"weather?"}]},
		{"role":"assistant","parts":[{"type":"tool_call","id":"c1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"}]},
		{"role":"tool","parts":[{"type":"tool_call_response","id":"c1","response":"rainy"}]}`
	const output = `[{"role":"assistant","name":"bot","parts":[{"type":"text","content":"Rainy."}],"finish_reason":"stop"}]`

	t.Run("openai keeps system messages in the history", func(t *testing.T) {
		call := call
		call.Provider = "openai"
		a := modelCallSpan(t, genAIOnly, call)
		assert.JSONEq(t, `[{"role":"system","parts":[{"type":"text","content":"be brief"}]},`+history+`]`, a[otelspans.KeyGenAIInputMessages].AsString())
		assert.JSONEq(t, output, a[otelspans.KeyGenAIOutputMessages].AsString())
		assert.NotContains(t, a, otelspans.KeyGenAISystemInstructions)
	})
	t.Run("anthropic's system prompt is the system instructions", func(t *testing.T) {
		call := call
		call.Provider = "anthropic"
		a := modelCallSpan(t, genAIOnly, call)
		assert.JSONEq(t, `[{"type":"text","content":"be brief"}]`, a[otelspans.KeyGenAISystemInstructions].AsString())
		assert.JSONEq(t, `[`+history+`]`, a[otelspans.KeyGenAIInputMessages].AsString())
		assert.JSONEq(t, output, a[otelspans.KeyGenAIOutputMessages].AsString())
	})
	t.Run("off when false", func(t *testing.T) {
		t.Setenv(otelspans.EnvCaptureMessageContent, "false")
		a := modelCallSpan(t, genAIOnly, call)
		assert.NotContains(t, a, otelspans.KeyGenAIInputMessages)
		assert.NotContains(t, a, otelspans.KeyGenAIOutputMessages)
	})
	t.Run("read when the exporter is built", func(t *testing.T) {
		t.Setenv(otelspans.EnvCaptureMessageContent, "SPAN_ONLY")
		b := newBridge(t, genAIOnly, withIDs)
		t.Setenv(otelspans.EnvCaptureMessageContent, "false")
		a := recordOn(t, b, call)
		assert.Contains(t, a, otelspans.KeyGenAIInputMessages, "the bridge keeps what the environment said when it was built")
	})
}

func TestOpenInferenceFinishReasonAndPromptKind(t *testing.T) {
	a := modelCallSpan(t, nil, flowtrace.ModelCall{FinishReasons: []string{"length", "stop"}, Cost: 0.25, InputCost: 0.05, OutputCost: 0.2})
	assert.Equal(t, "length", a[otelspans.KeyLLMFinishReason].AsString())
	assert.InDelta(t, 0.25, a[otelspans.KeyLLMCostTotal].AsFloat64(), 1e-12)
	assert.InDelta(t, 0.05, a[otelspans.KeyLLMCostPrompt].AsFloat64(), 1e-12, "llm.cost.prompt")
	assert.InDelta(t, 0.2, a[otelspans.KeyLLMCostCompletion].AsFloat64(), 1e-12, "llm.cost.completion")
	a = modelCallSpan(t, nil, flowtrace.ModelCall{Cost: 0.25})
	assert.NotContains(t, a, otelspans.KeyLLMCostPrompt, "an unknown part is not written")

	b := newBridge(t, nil, withIDs)
	ctx, err := b.svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	_, p := b.svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "template", Type: flowtrace.TypePrompt})
	p.End(nil)
	b.end(t, ctx, nil, nil)
	assert.Equal(t, "PROMPT", str(t, b.byName(t, "template"), otelspans.KeyOISpanKind))
}

func TestOpenInferenceHideVariables(t *testing.T) {
	call := flowtrace.ModelCall{
		Parameters: map[string]any{"temperature": 0.5},
		Input:      []flowtrace.Message{{Role: "user", Content: "question"}},
		Output:     []flowtrace.Message{{Role: "assistant", Content: "answer"}},
	}
	const (
		inContent  = "llm.input_messages.0.message.content"
		inRole     = "llm.input_messages.0.message.role"
		outContent = "llm.output_messages.0.message.content"
		outRole    = "llm.output_messages.0.message.role"
	)
	for _, tc := range []struct {
		env  string
		want map[string]any // key → value; nil value: absent
	}{
		{"", map[string]any{otelspans.KeyOIInputValue: `{"q":"hi"}`, otelspans.KeyOIOutputValue: `{"a":"hello"}`,
			inContent: "question", outContent: "answer", otelspans.KeyLLMInvocationParams: `{"temperature":0.5}`}},
		{otelspans.EnvHideInputs, map[string]any{otelspans.KeyOIInputValue: otelspans.Redacted, otelspans.KeyOIInputMimeType: nil,
			inRole: nil, inContent: nil, otelspans.KeyOIOutputValue: `{"a":"hello"}`, outContent: "answer"}},
		{otelspans.EnvHideOutputs, map[string]any{otelspans.KeyOIOutputValue: otelspans.Redacted, otelspans.KeyOIOutputMimeType: nil,
			outRole: nil, outContent: nil, otelspans.KeyOIInputValue: `{"q":"hi"}`, inContent: "question"}},
		{otelspans.EnvHideInputMessages, map[string]any{inRole: nil, inContent: nil, otelspans.KeyOIInputValue: `{"q":"hi"}`, outContent: "answer"}},
		{otelspans.EnvHideOutputMessages, map[string]any{outRole: nil, outContent: nil, otelspans.KeyOIOutputValue: `{"a":"hello"}`, inContent: "question"}},
		{otelspans.EnvHideInputText, map[string]any{inRole: "user", inContent: otelspans.Redacted, outContent: "answer"}},
		{otelspans.EnvHideOutputText, map[string]any{outRole: "assistant", outContent: otelspans.Redacted, inContent: "question"}},
		{otelspans.EnvHideInvocationParams, map[string]any{otelspans.KeyLLMInvocationParams: nil, inContent: "question"}},
	} {
		t.Run("env="+tc.env, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv(tc.env, "true")
			}
			a := modelCallSpan(t, nil, call)
			for k, want := range tc.want {
				got, ok := a[k]
				if want == nil {
					assert.False(t, ok, "want %s hidden, got %v", k, got.Emit())
					continue
				}
				require.True(t, ok, "want %s written", k)
				if s := want.(string); len(s) > 0 && s[0] == '{' {
					assert.JSONEq(t, s, got.AsString(), k)
				} else {
					assert.Equal(t, s, got.AsString(), k)
				}
			}
		})
	}
}

func TestMCPMetadataBecomesAttributes(t *testing.T) {
	md := map[string]any{"mcp.method.name": "tools/call", "gen_ai.tool.name": "get_weather", "gen_ai.operation.name": "execute_tool",
		"mcp.session.id": "sess-1", "network.transport": "pipe", "jsonrpc.request.id": 3, "other": "x"}
	for _, tc := range []struct {
		name     string
		opts     []otelspans.Option
		toolSpan string
		runSpan  string
	}{
		{"OpenInference", nil, "tools/call get_weather", "tools/call get_weather"},
		{"GenAI", genAIOnly, "execute_tool get_weather", "tools/call get_weather"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBridge(t, tc.opts, withIDs)
			// The client side: a tool component; the server side: a run.
			ctx, err := b.svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "agent"})
			require.NoError(t, err)
			_, tool := b.svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "tools/call get_weather", Type: flowtrace.TypeTool, Metadata: md})
			tool.End(nil)
			b.end(t, ctx, nil, nil)
			sctx, err := b.svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "tools/call get_weather", Metadata: md})
			require.NoError(t, err)
			b.end(t, sctx, nil, nil)

			var spans []map[string]attribute.Value
			for _, s := range b.spans.Ended() {
				if s.Name() == tc.toolSpan || s.Name() == tc.runSpan {
					spans = append(spans, attrs(s))
				}
			}
			require.Len(t, spans, 2, "the tool's span and the server's run, named %q and %q", tc.toolSpan, tc.runSpan)
			for _, a := range spans {
				assert.Equal(t, "tools/call", a[otelspans.KeyMCPMethodName].AsString())
				assert.Equal(t, "get_weather", a[otelspans.KeyGenAIToolName].AsString(), "the metadata's tool name, not the component's")
				assert.Equal(t, "execute_tool", a[otelspans.KeyGenAIOperationName].AsString())
				assert.Equal(t, "sess-1", a[otelspans.KeyMCPSessionID].AsString())
				assert.Equal(t, "pipe", a[otelspans.KeyNetworkTransport].AsString())
				assert.Equal(t, int64(3), a[otelspans.KeyJSONRPCRequestID].AsInt64())
				assert.NotContains(t, a, "other", "only the known keys are lifted")
				assert.NotContains(t, a, otelspans.KeyGenAIWorkflowName, "an MCP request is not a workflow")
			}
		})
	}
}

func TestGenAIParametersDecodedFromJSON(t *testing.T) {
	a := modelCallSpan(t, genAIOnly, flowtrace.ModelCall{Model: "m", Parameters: map[string]any{
		"max_tokens": 512.0, "seed": 1.5, "n": 1e300}})
	assert.Equal(t, int64(512), a[otelspans.KeyGenAIRequestMaxTokens].AsInt64(), "a whole float is a count")
	assert.NotContains(t, a, otelspans.KeyGenAIRequestSeed, "a fraction is not a seed")
	assert.NotContains(t, a, otelspans.KeyGenAIRequestChoiceCount, "out of int64's range")
}

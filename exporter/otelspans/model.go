package otelspans

import (
	"context"
	"strconv"

	"go.opentelemetry.io/otel/attribute"

	"github.com/flowtrace/flowtrace"
)

var (
	_ flowtrace.ModelCallExporter = (*runExporter)(nil)
	_ flowtrace.InputsExporter    = (*runExporter)(nil)
)

// RecordModelCall writes a model call on its component's span: model,
// provider, parameters, token counts, cost and messages as OpenInference
// keys (llm.*), as the OPENINFERENCE_HIDE_* variables allow, and with
// GenAI conventions as gen_ai.* keys, the messages only when
// OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT is true. With GenAI
// alone, an llm or embedding component's span is renamed "chat {model}"
// or "embeddings {model}" once a record names the model.
func (r *runExporter) RecordModelCall(_ context.Context, rec flowtrace.ModelCallRecord) error {
	span := r.span
	op := ""
	if p, ok := r.open[rec.ComponentID]; ok {
		span, op = p.span, p.op
	}
	c := &rec.Call
	pv := &r.e.cfg.privacy
	attrs := r.scratch[:0]
	if r.e.cfg.conventions&OpenInference != 0 {
		attrs = appendStr(attrs, KeyLLMModelName, c.Model)
		attrs = appendStr(attrs, KeyLLMProvider, c.Provider)
		if !pv.hideInvocationParams {
			attrs = r.json.appendJSON(attrs, KeyLLMInvocationParams, c.Parameters)
		}
		u := c.Usage
		attrs = appendInt(attrs, KeyLLMTokensPrompt, u.InputTokens)
		attrs = appendInt(attrs, KeyLLMTokensCompletion, u.OutputTokens)
		attrs = appendInt(attrs, KeyLLMTokensTotal, u.TotalTokens)
		attrs = appendInt(attrs, KeyLLMTokensCacheRead, u.CacheReadTokens)
		attrs = appendInt(attrs, KeyLLMTokensCacheWrite, u.CacheWriteTokens)
		attrs = appendInt(attrs, KeyLLMTokensReasoning, u.ReasoningTokens)
		for _, kv := range [...]struct {
			key  string
			cost float64
		}{{KeyLLMCostTotal, c.Cost}, {KeyLLMCostPrompt, c.InputCost}, {KeyLLMCostCompletion, c.OutputCost}} {
			if kv.cost != 0 {
				attrs = append(attrs, attribute.Float64(kv.key, kv.cost))
			}
		}
		if len(c.FinishReasons) > 0 {
			attrs = appendStr(attrs, KeyLLMFinishReason, c.FinishReasons[0])
		}
		if !pv.hideInputMessages {
			attrs = appendMessages(attrs, KeyLLMInputMessagesPrefix, c.Input, pv.hideInputText)
		}
		if !pv.hideOutputMessages {
			attrs = appendMessages(attrs, KeyLLMOutputMsgsPrefix, c.Output, pv.hideOutputText)
		}
	}
	if r.e.cfg.conventions&GenAI != 0 {
		attrs = appendStr(attrs, KeyGenAIRequestModel, c.Model)
		attrs = appendStr(attrs, KeyGenAIProviderName, c.Provider)
		attrs = appendStr(attrs, KeyGenAIResponseModel, c.ResponseModel)
		attrs = appendStr(attrs, KeyGenAIResponseID, c.ResponseID)
		attrs = appendGenAIParams(attrs, c.Parameters, c.Stream)
		u := c.Usage
		attrs = appendInt(attrs, KeyGenAIInputTokens, u.InputTokens)
		attrs = appendInt(attrs, KeyGenAIOutputTokens, u.OutputTokens)
		attrs = appendInt(attrs, KeyGenAICacheReadTokens, u.CacheReadTokens)
		attrs = appendInt(attrs, KeyGenAICacheCreationTokens, u.CacheWriteTokens)
		attrs = appendInt(attrs, KeyGenAIReasoningTokens, u.ReasoningTokens)
		if len(c.FinishReasons) > 0 {
			attrs = append(attrs, attribute.StringSlice(KeyGenAIFinishReasons, c.FinishReasons))
		}
		if c.TimeToFirstChunk > 0 {
			attrs = append(attrs, attribute.Float64(KeyGenAITimeToFirst, c.TimeToFirstChunk.Seconds()))
		}
		if pv.captureContent {
			attrs = appendGenAIContent(attrs, c)
		}
		if r.e.cfg.conventions == GenAI && c.Model != "" && (op == "chat" || op == "embeddings") {
			span.SetName(op + " " + c.Model)
		}
	}
	span.SetAttributes(attrs...)
	r.scratch = attrs
	return nil
}

// SetInputs merges inputs set after a start; the span's input value is
// written again, merged, when it ends.
func (r *runExporter) SetInputs(_ context.Context, in flowtrace.Inputs) error {
	if in.ComponentID == "" {
		if r.inputs == nil {
			r.inputs = merge(nil, r.info.Inputs)
		}
		r.inputs = merge(r.inputs, in.Values)
		return nil
	}
	if p, ok := r.open[in.ComponentID]; ok {
		if p.inputs == nil {
			p.inputs = merge(nil, p.start)
		}
		p.inputs = merge(p.inputs, in.Values)
	}
	return nil
}

func appendStr(attrs []attribute.KeyValue, key, v string) []attribute.KeyValue {
	if v == "" {
		return attrs
	}
	return append(attrs, attribute.String(key, v))
}

func appendInt(attrs []attribute.KeyValue, key string, v int64) []attribute.KeyValue {
	if v == 0 {
		return attrs
	}
	return append(attrs, attribute.Int64(key, v))
}

// appendMessages writes messages as OpenInference flattens them:
// prefix.N.message.role, .content, .name, .tool_call_id and
// .tool_calls.M.tool_call.{id,function.name,function.arguments}; with
// hideText, each content is Redacted.
func appendMessages(attrs []attribute.KeyValue, prefix string, ms []flowtrace.Message, hideText bool) []attribute.KeyValue {
	for i, m := range ms {
		p := prefix + "." + strconv.Itoa(i) + ".message."
		attrs = appendStr(attrs, p+"role", m.Role)
		if hideText && m.Content != "" {
			attrs = append(attrs, attribute.String(p+"content", Redacted))
		} else {
			attrs = appendStr(attrs, p+"content", m.Content)
		}
		attrs = appendStr(attrs, p+"name", m.Name)
		attrs = appendStr(attrs, p+"tool_call_id", m.ToolCallID)
		for j, tc := range m.ToolCalls {
			q := p + "tool_calls." + strconv.Itoa(j) + ".tool_call."
			attrs = appendStr(attrs, q+"id", tc.ID)
			attrs = appendStr(attrs, q+"function.name", tc.Name)
			attrs = appendStr(attrs, q+"function.arguments", tc.Arguments)
		}
	}
	return attrs
}

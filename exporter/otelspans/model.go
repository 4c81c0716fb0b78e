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
// keys (llm.*), and with GenAI conventions as gen_ai.* keys.
func (r *runExporter) RecordModelCall(_ context.Context, rec flowtrace.ModelCallRecord) error {
	span := r.span
	if p, ok := r.open[rec.ComponentID]; ok {
		span = p.span
	}
	c := &rec.Call
	attrs := r.scratch[:0]
	if r.e.cfg.conventions&OpenInference != 0 {
		attrs = appendStr(attrs, KeyLLMModelName, c.Model)
		attrs = appendStr(attrs, KeyLLMProvider, c.Provider)
		attrs = appendJSON(attrs, KeyLLMInvocationParams, c.Parameters)
		u := c.Usage
		attrs = appendInt(attrs, KeyLLMTokensPrompt, u.InputTokens)
		attrs = appendInt(attrs, KeyLLMTokensCompletion, u.OutputTokens)
		attrs = appendInt(attrs, KeyLLMTokensTotal, u.TotalTokens)
		attrs = appendInt(attrs, KeyLLMTokensCacheRead, u.CacheReadTokens)
		attrs = appendInt(attrs, KeyLLMTokensCacheWrite, u.CacheWriteTokens)
		attrs = appendInt(attrs, KeyLLMTokensReasoning, u.ReasoningTokens)
		if c.Cost != 0 {
			attrs = append(attrs, attribute.Float64(KeyLLMCostTotal, c.Cost))
		}
		attrs = appendMessages(attrs, KeyLLMInputMessagesPrefix, c.Input)
		attrs = appendMessages(attrs, KeyLLMOutputMsgsPrefix, c.Output)
	}
	if r.e.cfg.conventions&GenAI != 0 {
		attrs = appendStr(attrs, KeyGenAIRequestModel, c.Model)
		attrs = appendStr(attrs, KeyGenAIProviderName, c.Provider)
		attrs = appendInt(attrs, KeyGenAIInputTokens, c.Usage.InputTokens)
		attrs = appendInt(attrs, KeyGenAIOutputTokens, c.Usage.OutputTokens)
		if len(c.FinishReasons) > 0 {
			attrs = append(attrs, attribute.StringSlice(KeyGenAIFinishReasons, c.FinishReasons))
		}
		if c.TimeToFirstChunk > 0 {
			attrs = append(attrs, attribute.Float64(KeyGenAITimeToFirst, c.TimeToFirstChunk.Seconds()))
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
// .tool_calls.M.tool_call.{id,function.name,function.arguments}.
func appendMessages(attrs []attribute.KeyValue, prefix string, ms []flowtrace.Message) []attribute.KeyValue {
	for i, m := range ms {
		p := prefix + "." + strconv.Itoa(i) + ".message."
		attrs = appendStr(attrs, p+"role", m.Role)
		attrs = appendStr(attrs, p+"content", m.Content)
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

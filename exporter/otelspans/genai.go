package otelspans

import (
	"math"

	"go.opentelemetry.io/otel/attribute"

	"github.com/flowtrace/flowtrace"
)

// paramKind is how a request parameter is written.
type paramKind uint8

const (
	paramInt paramKind = iota
	paramFloat
	paramStrings // a string or a list of strings, as a string slice
)

// genAIParams maps the GenAI request attributes to the names the vendors'
// APIs give the parameters (and so the names their adapters record in
// ModelCall.Parameters); the first name present wins. n is written only
// when it is not 1, as the conventions ask.
var genAIParams = [...]struct {
	key   string
	names []string
	kind  paramKind
}{
	{KeyGenAIRequestMaxTokens, []string{"max_tokens", "max_completion_tokens", "max_output_tokens"}, paramInt},
	{KeyGenAIRequestTemperature, []string{"temperature"}, paramFloat},
	{KeyGenAIRequestTopP, []string{"top_p"}, paramFloat},
	{KeyGenAIRequestTopK, []string{"top_k"}, paramFloat},
	{KeyGenAIRequestFrequencyPenalty, []string{"frequency_penalty"}, paramFloat},
	{KeyGenAIRequestPresencePenalty, []string{"presence_penalty"}, paramFloat},
	{KeyGenAIRequestSeed, []string{"seed"}, paramInt},
	{KeyGenAIRequestStopSequences, []string{"stop_sequences", "stop"}, paramStrings},
	{KeyGenAIRequestChoiceCount, []string{"n"}, paramInt},
	{KeyGenAIRequestEncodingFormats, []string{"encoding_format", "encoding_formats"}, paramStrings},
}

// appendGenAIParams writes the request parameters of params that have a
// GenAI attribute, and gen_ai.request.stream when the call streamed.
// A value of the wrong type (a snapshot holds int64, uint64, float64,
// string, bool, []any) is left out.
func appendGenAIParams(attrs []attribute.KeyValue, params map[string]any, stream bool) []attribute.KeyValue {
	for _, p := range genAIParams {
		for _, name := range p.names {
			v, ok := params[name]
			if !ok {
				continue
			}
			switch p.kind {
			case paramInt:
				if n, ok := asInt(v); ok && (p.key != KeyGenAIRequestChoiceCount || n != 1) {
					attrs = append(attrs, attribute.Int64(p.key, n))
				}
			case paramFloat:
				if f, ok := asFloat(v); ok {
					attrs = append(attrs, attribute.Float64(p.key, f))
				}
			case paramStrings:
				if ss := asStrings(v); len(ss) > 0 {
					attrs = append(attrs, attribute.StringSlice(p.key, ss))
				}
			}
			break
		}
	}
	if s, ok := params["stream"].(bool); stream || (ok && s) {
		attrs = append(attrs, attribute.Bool(KeyGenAIRequestStream, true))
	}
	return attrs
}

func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case uint64:
		return int64(n), n <= 1<<63-1
	case float64: // a count decoded from JSON
		if n >= -(1<<63) && n < 1<<63 && n == math.Trunc(n) {
			return int64(n), true
		}
	}
	return 0, false
}

func asFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	}
	return 0, false
}

func asStrings(v any) []string {
	switch s := v.(type) {
	case string:
		if s != "" {
			return []string{s}
		}
	case []any:
		out := make([]string, 0, len(s))
		for _, e := range s {
			if str, ok := e.(string); ok {
				out = append(out, str)
			}
		}
		return out
	}
	return nil
}

// separateSystem lists the providers whose APIs take the system prompt
// apart from the messages: for them, messages of role "system" are
// gen_ai.system_instructions; for the others (OpenAI's "system" and
// "developer" messages are part of the chat history) they stay among the
// input messages, as the conventions ask.
var separateSystem = map[string]bool{"anthropic": true, "aws.bedrock": true, "gcp.gemini": true, "gcp.vertex_ai": true, "gcp.gen_ai": true}

// appendGenAIContent writes a call's messages as JSON in the GenAI
// conventions' schema: each message {"role", "parts", "name"?}, a part
// {"type":"text","content"}, {"type":"tool_call","id","name","arguments"}
// or, in a tool's answer, {"type":"tool_call_response","id","response"};
// an output message carries its "finish_reason".
func appendGenAIContent(attrs []attribute.KeyValue, c *flowtrace.ModelCall) []attribute.KeyValue {
	var system []any
	input := make([]any, 0, len(c.Input))
	for i := range c.Input {
		m := &c.Input[i]
		if m.Role == "system" && separateSystem[c.Provider] {
			if m.Content != "" {
				system = append(system, textPart(m.Content))
			}
			continue
		}
		input = append(input, genAIMessage(m))
	}
	if len(system) > 0 {
		attrs = append(attrs, attribute.String(KeyGenAISystemInstructions, jsonString(system)))
	}
	if len(input) > 0 {
		attrs = append(attrs, attribute.String(KeyGenAIInputMessages, jsonString(input)))
	}
	if len(c.Output) > 0 {
		output := make([]any, len(c.Output))
		for i := range c.Output {
			m := genAIMessage(&c.Output[i])
			if i < len(c.FinishReasons) {
				m["finish_reason"] = c.FinishReasons[i]
			}
			output[i] = m
		}
		attrs = append(attrs, attribute.String(KeyGenAIOutputMessages, jsonString(output)))
	}
	return attrs
}

func textPart(s string) map[string]any { return map[string]any{"type": "text", "content": s} }

func genAIMessage(m *flowtrace.Message) map[string]any {
	parts := make([]any, 0, 1+len(m.ToolCalls))
	switch {
	case m.ToolCallID != "":
		parts = append(parts, map[string]any{"type": "tool_call_response", "id": m.ToolCallID, "response": m.Content})
	case m.Content != "":
		parts = append(parts, textPart(m.Content))
	}
	for _, tc := range m.ToolCalls {
		parts = append(parts, map[string]any{"type": "tool_call", "id": tc.ID, "name": tc.Name, "arguments": tc.Arguments})
	}
	out := map[string]any{"role": m.Role, "parts": parts}
	if m.Name != "" {
		out["name"] = m.Name
	}
	return out
}

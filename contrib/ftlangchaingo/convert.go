package ftlangchaingo

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/tmc/langchaingo/llms"

	"github.com/flowtrace/flowtrace"
)

// roles maps langchaingo's chat roles to the names backends use.
var roles = map[llms.ChatMessageType]string{
	llms.ChatMessageTypeAI:    "assistant",
	llms.ChatMessageTypeHuman: "user",
}

// inputMessages converts the messages sent to a model, keeping roles,
// tool calls and tool answers apart from the text.
func inputMessages(ms []llms.MessageContent) []flowtrace.Message {
	out := make([]flowtrace.Message, len(ms))
	for i, m := range ms {
		msg := flowtrace.Message{Role: roles[m.Role]}
		if msg.Role == "" {
			msg.Role = string(m.Role)
		}
		var text []string
		for _, part := range m.Parts {
			switch p := part.(type) {
			case llms.TextContent:
				text = append(text, p.Text)
			case llms.ImageURLContent:
				text = append(text, "[image "+p.URL+"]")
			case llms.BinaryContent:
				text = append(text, fmt.Sprintf("[%s, %d bytes]", p.MIMEType, len(p.Data)))
			case llms.ToolCall:
				msg.ToolCalls = append(msg.ToolCalls, toolCall(p))
			case llms.ToolCallResponse:
				msg.ToolCallID, msg.Name = p.ToolCallID, p.Name
				text = append(text, p.Content)
			default:
				text = append(text, fmt.Sprint(p))
			}
		}
		msg.Content = strings.Join(text, "\n")
		out[i] = msg
	}
	return out
}

func toolCall(tc llms.ToolCall) flowtrace.ToolCall {
	out := flowtrace.ToolCall{ID: tc.ID}
	if tc.FunctionCall != nil {
		out.Name, out.Arguments = tc.FunctionCall.Name, tc.FunctionCall.Arguments
	}
	return out
}

// modelCall fills call from a model's answer: one assistant message per
// choice, finish reasons, and the model and token usage the provider put
// in the generation info. Providers repeat the call's usage in each
// choice, so a count is the largest one found, not a sum.
func modelCall(call *flowtrace.ModelCall, choices []*llms.ContentChoice) {
	for _, ch := range choices {
		if ch == nil {
			continue
		}
		msg := flowtrace.Message{Role: "assistant", Content: ch.Content}
		for _, tc := range ch.ToolCalls {
			msg.ToolCalls = append(msg.ToolCalls, toolCall(tc))
		}
		if len(ch.ToolCalls) == 0 && ch.FuncCall != nil {
			msg.ToolCalls = []flowtrace.ToolCall{{Name: ch.FuncCall.Name, Arguments: ch.FuncCall.Arguments}}
		}
		call.Output = append(call.Output, msg)
		if ch.StopReason != "" {
			call.FinishReasons = append(call.FinishReasons, ch.StopReason)
		}
		if m, ok := ch.GenerationInfo["model"].(string); ok && m != "" {
			call.Model = m
		}
		u := usage(ch.GenerationInfo)
		call.Usage = flowtrace.Usage{
			InputTokens:      max(call.Usage.InputTokens, u.InputTokens),
			OutputTokens:     max(call.Usage.OutputTokens, u.OutputTokens),
			TotalTokens:      max(call.Usage.TotalTokens, u.TotalTokens),
			CacheReadTokens:  max(call.Usage.CacheReadTokens, u.CacheReadTokens),
			CacheWriteTokens: max(call.Usage.CacheWriteTokens, u.CacheWriteTokens),
			ReasoningTokens:  max(call.Usage.ReasoningTokens, u.ReasoningTokens),
		}
	}
}

// usage reads token counts under the keys langchaingo's providers use:
// OpenAI, Ollama, Maritaca and Google AI (PromptTokens...), Anthropic
// (InputTokens...), Bedrock and Google AI (input_tokens...), Mistral (a
// "usage" struct).
func usage(info map[string]any) flowtrace.Usage {
	if nested := fields(info["usage"]); nested != nil {
		return usage(nested)
	}
	get := func(keys ...string) int64 {
		for _, k := range keys {
			if n, ok := count(info[k]); ok {
				return n
			}
		}
		return 0
	}
	u := flowtrace.Usage{
		InputTokens:      get("PromptTokens", "InputTokens", "input_tokens", "prompt_tokens"),
		OutputTokens:     get("CompletionTokens", "OutputTokens", "output_tokens", "completion_tokens"),
		TotalTokens:      get("TotalTokens", "total_tokens"),
		CacheReadTokens:  get("PromptCachedTokens", "CacheReadInputTokens", "CachedTokens"),
		CacheWriteTokens: get("CacheCreationInputTokens"),
		ReasoningTokens:  get("ReasoningTokens", "CompletionReasoningTokens", "ThinkingTokens"),
	}
	if _, anthropic := info["CacheReadInputTokens"]; anthropic {
		// Anthropic's input tokens leave out the cached ones; flowtrace's
		// include them.
		u.InputTokens += u.CacheReadTokens + u.CacheWriteTokens
	}
	if u.TotalTokens == 0 {
		u.TotalTokens = u.InputTokens + u.OutputTokens
	}
	return u
}

// count returns an integer of any numeric type.
func count(v any) (int64, bool) {
	rv := reflect.ValueOf(v)
	switch {
	case rv.CanInt():
		return rv.Int(), true
	case rv.CanUint():
		return int64(rv.Uint()), true
	case rv.CanFloat():
		return int64(rv.Float()), true
	}
	return 0, false
}

// fields returns a map, or the exported fields of a struct (or pointer to
// one) as a map; nil for anything else.
func fields(v any) map[string]any {
	if m, ok := v.(map[string]any); ok {
		return m
	}
	rv := reflect.Indirect(reflect.ValueOf(v))
	if rv.Kind() != reflect.Struct {
		return nil
	}
	m := map[string]any{}
	for i := range rv.NumField() {
		if f := rv.Type().Field(i); f.IsExported() {
			m[f.Name] = rv.Field(i).Interface()
		}
	}
	return m
}

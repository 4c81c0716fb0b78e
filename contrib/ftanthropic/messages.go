package ftanthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/internal/jsonvalue"
)

// This file reads the Messages API's JSON: what a request asks for, what
// a message answers, and the API's errors.

// request is what the middleware learned from a request body.
type request struct {
	model  string
	params map[string]any
	input  []flowtrace.Message
}

// Invocation parameters recorded. Anything else in a body (messages,
// tools' schemas, metadata) is not a parameter.
var paramNames = []string{"max_tokens", "service_tier", "stop_sequences", "stream", "temperature",
	"thinking", "tool_choice", "top_k", "top_p"}

func parseRequest(body []byte) request {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return request{}
	}
	var r request
	_ = json.Unmarshal(fields["model"], &r.model)
	var stream bool
	_ = json.Unmarshal(fields["stream"], &stream)
	for _, k := range paramNames {
		raw, ok := fields[k]
		if !ok || string(raw) == "null" || (k == "stream" && !stream) {
			continue
		}
		if r.params == nil {
			r.params = make(map[string]any, 8)
		}
		r.params[k] = jsonvalue.Decode(raw)
	}
	var tools []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if json.Unmarshal(fields["tools"], &tools) == nil && len(tools) > 0 {
		names := make([]any, 0, len(tools))
		for _, t := range tools {
			names = append(names, cmp(t.Name, t.Type))
		}
		if r.params == nil {
			r.params = make(map[string]any, 1)
		}
		r.params["tools"] = names
	}
	// The system prompt is an input, the first message, as backends show it.
	if sys := blocksText(fields["system"]); sys != "" {
		r.input = append(r.input, flowtrace.Message{Role: "system", Content: sys})
	}
	var msgs []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	_ = json.Unmarshal(fields["messages"], &msgs)
	for _, m := range msgs {
		r.input = append(r.input, messages(m.Role, m.Content)...)
	}
	return r
}

// block is a content block, of a request's message or of an answer.
type block struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
}

// messages returns a message's content (a string, or blocks) as flowtrace
// messages: text and tool_use blocks in one message of role, each
// tool_result block a "tool" message answering its call. A block that is
// neither (an image, a document) is "[its type]", never its data; thinking
// is left out.
func messages(role string, raw json.RawMessage) []flowtrace.Message {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		_ = json.Unmarshal(raw, &s)
		return []flowtrace.Message{{Role: role, Content: s}}
	}
	var blocks []block
	if json.Unmarshal(raw, &blocks) != nil {
		return nil
	}
	return blockMessages(role, blocks)
}

// blockMessages is messages for content already decoded.
func blockMessages(role string, blocks []block) []flowtrace.Message {
	var out []flowtrace.Message
	msg := flowtrace.Message{Role: role}
	var text strings.Builder
	for _, b := range blocks {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "tool_use", "server_tool_use":
			msg.ToolCalls = append(msg.ToolCalls, flowtrace.ToolCall{ID: b.ID, Name: b.Name, Arguments: string(compact(b.Input))})
		case "tool_result":
			out = append(out, flowtrace.Message{Role: "tool", ToolCallID: b.ToolUseID, Content: blocksText(b.Content)})
		case "thinking", "redacted_thinking":
		default:
			text.WriteString("[" + b.Type + "]")
		}
	}
	msg.Content = text.String()
	if msg.Content != "" || len(msg.ToolCalls) > 0 {
		out = append(out, msg)
	}
	return out
}

// blocksText returns a string, or the text of a list of text blocks.
func blocksText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	if raw[0] == '"' {
		var s string
		_ = json.Unmarshal(raw, &s)
		return s
	}
	var blocks []block
	_ = json.Unmarshal(raw, &blocks)
	var b strings.Builder
	for _, bl := range blocks {
		if bl.Type == "text" {
			b.WriteString(bl.Text)
		} else {
			b.WriteString("[" + bl.Type + "]")
		}
	}
	return b.String()
}

func compact(raw json.RawMessage) []byte {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}

// answer is what a call answered, whole or streamed.
type answer struct {
	id, model string
	output    []flowtrace.Message
	finish    []string
	usage     flowtrace.Usage
	err       error
}

// apiUsage is the Messages API's usage. Its input_tokens leave out the
// tokens read from or written to the cache; flowtrace's InputTokens count
// them (its cache counts are parts of it), so the three are added.
type apiUsage struct {
	InputTokens              *int64 `json:"input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
}

// merge sets in u the counts that v has: a message_delta's usage is
// cumulative, and may carry only some counts.
func (u *apiUsage) merge(v *apiUsage) {
	for _, p := range [][2]**int64{{&u.InputTokens, &v.InputTokens}, {&u.OutputTokens, &v.OutputTokens},
		{&u.CacheCreationInputTokens, &v.CacheCreationInputTokens}, {&u.CacheReadInputTokens, &v.CacheReadInputTokens}} {
		if *p[1] != nil {
			*p[0] = *p[1]
		}
	}
}

func (v *apiUsage) usage() flowtrace.Usage {
	n := func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	}
	u := flowtrace.Usage{OutputTokens: n(v.OutputTokens), CacheWriteTokens: n(v.CacheCreationInputTokens), CacheReadTokens: n(v.CacheReadInputTokens)}
	u.InputTokens = n(v.InputTokens) + u.CacheWriteTokens + u.CacheReadTokens
	u.TotalTokens = u.InputTokens + u.OutputTokens
	return u
}

// message is a Messages API answer, whole or as message_start carries it.
type message struct {
	ID         string   `json:"id"`
	Model      string   `json:"model"`
	Role       string   `json:"role"`
	Content    []block  `json:"content"`
	StopReason string   `json:"stop_reason"`
	Usage      apiUsage `json:"usage"`
}

func parseAnswer(body []byte) answer {
	var m message
	if err := json.Unmarshal(body, &m); err != nil {
		return answer{err: fmt.Errorf("%w: %v", ErrMalformedResponse, err)}
	}
	a := answer{id: m.ID, model: m.Model, usage: m.Usage.usage(), output: blockMessages(cmp(m.Role, "assistant"), m.Content)}
	if m.StopReason != "" {
		a.finish = []string{m.StopReason}
	}
	return a
}

// errorBody is the API's error object.
type errorBody struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// parseError returns the error of a response with status status:
// {"type": "error", "error": {...}}, or the status alone.
func parseError(status int, body []byte) *APIError {
	var v struct {
		Error *errorBody `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil || v.Error == nil {
		return &APIError{StatusCode: status}
	}
	return &APIError{StatusCode: status, Type: v.Error.Type, Message: v.Error.Message}
}

// cmp returns a, or b when a is empty.
func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

package ftopenai

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/internal/jsonvalue"
)

// This file reads what a request asks for from its JSON body: model,
// invocation parameters, input messages, and whether it streams.

// operation is an API endpoint the middleware records.
type operation uint8

const (
	opNone       operation = iota
	opChat                 // POST …/chat/completions
	opResponses            // POST …/responses
	opEmbeddings           // POST …/embeddings
)

// operationOf returns the operation of a POST to path, by its last
// segments, so that any base URL (a proxy's, Azure's deployments) works.
// It allocates nothing.
func operationOf(path string) operation {
	path = strings.TrimSuffix(path, "/")
	switch {
	case strings.HasSuffix(path, "/chat/completions"):
		return opChat
	case strings.HasSuffix(path, "/responses"):
		return opResponses
	case strings.HasSuffix(path, "/embeddings"):
		return opEmbeddings
	}
	return opNone
}

// name is the operation as component names begin with it.
func (op operation) name() string {
	switch op {
	case opChat:
		return "chat"
	case opResponses:
		return "responses"
	case opEmbeddings:
		return "embeddings"
	}
	return ""
}

// request is what the middleware learned from a request body.
type request struct {
	model        string
	stream       bool
	includeUsage bool // stream_options.include_usage was set to true
	params       map[string]any
	input        []flowtrace.Message
	inputs       map[string]any // embeddings: the component's inputs
}

// Invocation parameters recorded, by operation. Anything else in a body
// (messages, tools' schemas, metadata, user) is not a parameter.
var (
	chatParams = []string{"frequency_penalty", "logprobs", "max_completion_tokens", "max_tokens", "n",
		"parallel_tool_calls", "presence_penalty", "reasoning_effort", "seed", "service_tier", "stop",
		"store", "stream", "temperature", "tool_choice", "top_logprobs", "top_p", "verbosity"}
	responsesParams = []string{"max_output_tokens", "max_tool_calls", "parallel_tool_calls", "reasoning",
		"service_tier", "store", "stream", "temperature", "tool_choice", "top_logprobs", "top_p", "truncation"}
	embeddingsParams = []string{"dimensions", "encoding_format"}
)

// parseRequest reads body, the JSON of a request to op. A body it cannot
// read gives what it could (a malformed request is the API's to refuse).
func parseRequest(op operation, body []byte) request {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return request{}
	}
	var r request
	_ = json.Unmarshal(fields["model"], &r.model)
	_ = json.Unmarshal(fields["stream"], &r.stream)
	var so struct {
		IncludeUsage bool `json:"include_usage"`
	}
	if json.Unmarshal(fields["stream_options"], &so) == nil {
		r.includeUsage = so.IncludeUsage
	}
	names := chatParams
	switch op {
	case opResponses:
		names = responsesParams
	case opEmbeddings:
		names = embeddingsParams
	}
	for _, k := range names {
		raw, ok := fields[k]
		if !ok || string(raw) == "null" {
			continue
		}
		if k == "stream" && !r.stream {
			continue
		}
		if r.params == nil {
			r.params = make(map[string]any, 8)
		}
		r.params[k] = jsonvalue.Decode(raw)
	}
	if tools := toolNames(fields["tools"]); len(tools) > 0 {
		if r.params == nil {
			r.params = make(map[string]any, 1)
		}
		r.params["tools"] = tools
	}
	if rf := formatType(fields["response_format"]); rf != "" { // chat: {"type": "json_schema", ...}
		if r.params == nil {
			r.params = make(map[string]any, 1)
		}
		r.params["response_format"] = rf
	}
	switch op {
	case opChat:
		var msgs []chatMessage
		_ = json.Unmarshal(fields["messages"], &msgs)
		r.input = make([]flowtrace.Message, 0, len(msgs))
		for _, m := range msgs {
			r.input = append(r.input, m.message())
		}
	case opResponses:
		var instructions string
		if json.Unmarshal(fields["instructions"], &instructions) == nil && instructions != "" {
			r.input = append(r.input, flowtrace.Message{Role: "system", Content: instructions})
		}
		r.input = append(r.input, responsesInput(fields["input"])...)
	case opEmbeddings:
		if raw, ok := fields["input"]; ok {
			r.inputs = map[string]any{"input": jsonvalue.Decode(raw)}
		}
	}
	return r
}

// toolNames returns the names of the tools a request offers: a function's
// name, or a built-in tool's type (web_search, file_search…).
func toolNames(raw json.RawMessage) []any {
	var tools []struct {
		Type     string `json:"type"`
		Name     string `json:"name"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if json.Unmarshal(raw, &tools) != nil {
		return nil
	}
	var names []any
	for _, t := range tools {
		switch {
		case t.Function.Name != "":
			names = append(names, t.Function.Name)
		case t.Name != "":
			names = append(names, t.Name)
		case t.Type != "":
			names = append(names, t.Type)
		}
	}
	return names
}

func formatType(raw json.RawMessage) string {
	var f struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(raw, &f)
	return f.Type
}

// chatMessage is a message of the Chat Completions API, in a request or a
// response.
type chatMessage struct {
	Role       string          `json:"role"`
	Name       string          `json:"name"`
	ToolCallID string          `json:"tool_call_id"`
	Content    json.RawMessage `json:"content"`
	Refusal    string          `json:"refusal"`
	ToolCalls  []chatToolCall  `json:"tool_calls"`
}

type chatToolCall struct {
	Index    int    `json:"index"`
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

func (m chatMessage) message() flowtrace.Message {
	msg := flowtrace.Message{Role: m.Role, Name: m.Name, ToolCallID: m.ToolCallID, Content: contentText(m.Content)}
	if msg.Content == "" {
		msg.Content = m.Refusal
	}
	for _, tc := range m.ToolCalls {
		msg.ToolCalls = append(msg.ToolCalls, flowtrace.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
	}
	return msg
}

// contentText returns a message's content as text: a string as it is, a
// list of parts as their texts joined, a part that is not text (an image,
// a file, audio) as "[its type]", so that its data is never recorded.
func contentText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	if raw[0] == '"' {
		var s string
		_ = json.Unmarshal(raw, &s)
		return s
	}
	var parts []struct {
		Type    string `json:"type"`
		Text    string `json:"text"`
		Refusal string `json:"refusal"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range parts {
		switch {
		case p.Text != "":
			b.WriteString(p.Text)
		case p.Refusal != "":
			b.WriteString(p.Refusal)
		default:
			b.WriteString("[" + p.Type + "]")
		}
	}
	return b.String()
}

// responsesItem is an item of the Responses API: an input item of a
// request, or an output item of a response.
type responsesItem struct {
	Type      string          `json:"type"`
	ID        string          `json:"id"`
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	CallID    string          `json:"call_id"`
	Name      string          `json:"name"`
	Arguments string          `json:"arguments"`
	Output    json.RawMessage `json:"output"`
}

// responsesInput returns the input of a Responses request (a string, or
// a list of items) as messages: a function call as an assistant message
// with the call, its output as a "tool" message that answers it.
func responsesInput(raw json.RawMessage) []flowtrace.Message {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	if raw[0] == '"' {
		var s string
		_ = json.Unmarshal(raw, &s)
		return []flowtrace.Message{{Role: "user", Content: s}}
	}
	var items []responsesItem
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	out := make([]flowtrace.Message, 0, len(items))
	for _, it := range items {
		switch it.Type {
		case "", "message":
			out = append(out, flowtrace.Message{Role: it.Role, Content: contentText(it.Content)})
		case "function_call":
			out = append(out, flowtrace.Message{Role: "assistant",
				ToolCalls: []flowtrace.ToolCall{{ID: it.CallID, Name: it.Name, Arguments: it.Arguments}}})
		case "function_call_output":
			out = append(out, flowtrace.Message{Role: "tool", ToolCallID: it.CallID, Content: contentText(it.Output)})
		}
	}
	return out
}

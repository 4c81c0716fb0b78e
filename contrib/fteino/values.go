package fteino

import (
	"fmt"

	"github.com/cloudwego/eino/components/model"
	"github.com/cloudwego/eino/schema"
	"github.com/flowtrace/flowtrace"
)

// maxChunks bounds the chunks of a stream kept as they are: those that are
// neither text nor messages.
const maxChunks = 100

// collector joins the chunks of a stream: text (strings, message contents)
// into the bounded flowtrace.Stream, which also stamps the first chunk;
// the rest of message chunks (role, tool calls, response meta) into one
// message; map chunks into one map (strings under one key joined, other
// values replaced), as eino joins them; a model's usage and config as last
// given; other chunks kept as they are, up to maxChunks. It is used by one
// goroutine.
type collector struct {
	text  *flowtrace.Stream
	msg   *schema.Message // without its content, which is in text
	usage *model.TokenUsage
	cfg   *model.Config
	texts bool
	keys  map[string]any // map chunks, merged
	other []any
	n     int
}

func (c *collector) add(chunk any) {
	c.n++
	if s, ok := chunk.(string); ok {
		c.text.Chunk(s)
		c.texts = true
		return
	}
	if m, ok := chunk.(map[string]any); ok {
		if c.keys == nil {
			c.keys = make(map[string]any, len(m))
		}
		for k, v := range m {
			prev, ok1 := c.keys[k].(string)
			next, ok2 := v.(string)
			if ok1 && ok2 {
				v = prev + next
			}
			c.keys[k] = v
		}
		return
	}
	o := model.ConvCallbackOutput(chunk)
	if o == nil {
		if len(c.other) < maxChunks {
			c.other = append(c.other, value(chunk))
		}
		return
	}
	if o.TokenUsage != nil {
		c.usage = o.TokenUsage
	}
	if o.Config != nil {
		c.cfg = o.Config
	}
	if m := o.Message; m != nil {
		c.text.Chunk(m.Content)
		rest := *m
		rest.Content = ""
		if c.msg == nil {
			c.msg = &rest
		} else if joined, err := schema.ConcatMessages([]*schema.Message{c.msg, &rest}); err == nil {
			c.msg = joined
		}
	}
}

// message is the joined message, or nil if no chunk was one.
func (c *collector) message() *schema.Message {
	if c.msg == nil {
		return nil
	}
	m := *c.msg
	m.Content = c.text.Text()
	return &m
}

// modelOutput is the stream of a chat model as one callback output.
func (c *collector) modelOutput() *model.CallbackOutput {
	return &model.CallbackOutput{Message: c.message(), Config: c.cfg, TokenUsage: c.usage}
}

// value is the stream as one value to record.
func (c *collector) value() any {
	switch {
	case c.msg != nil:
		return value(c.message())
	case c.texts:
		return c.text.Text()
	case c.keys != nil:
		return value(c.keys)
	case c.n == 1 && len(c.other) == 1:
		return c.other[0]
	case c.n > len(c.other):
		return append(c.other, fmt.Sprintf("…(%d more chunks)", c.n-len(c.other)))
	}
	return c.other
}

// value is v as recorded: eino's messages and documents by their fields
// (their String methods would flatten them), anything else as it is.
func value(v any) any {
	switch t := v.(type) {
	case *schema.Message:
		if m := messages(t); len(m) == 1 {
			return m[0]
		}
		return nil
	case []*schema.Message:
		return messages(t...)
	case []*schema.Document:
		return documents(t)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = value(x)
		}
		return out
	}
	return v
}

func messages(ms ...*schema.Message) []flowtrace.Message {
	out := make([]flowtrace.Message, 0, len(ms))
	for _, m := range ms {
		if m == nil {
			continue
		}
		fm := flowtrace.Message{Role: string(m.Role), Content: m.Content, Name: m.Name, ToolCallID: m.ToolCallID}
		if fm.Name == "" {
			fm.Name = m.ToolName
		}
		for _, tc := range m.ToolCalls {
			fm.ToolCalls = append(fm.ToolCalls, flowtrace.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
		out = append(out, fm)
	}
	return out
}

func documents(ds []*schema.Document) []map[string]any {
	out := make([]map[string]any, 0, len(ds))
	for _, d := range ds {
		if d != nil {
			out = append(out, map[string]any{"id": d.ID, "content": d.Content, "score": d.Score()})
		}
	}
	return out
}

// config is a chat model's name and invocation parameters.
func config(c *model.Config) (string, map[string]any) {
	if c == nil {
		return "", nil
	}
	p := map[string]any{}
	if c.Temperature != 0 {
		p["temperature"] = c.Temperature
	}
	if c.TopP != 0 {
		p["top_p"] = c.TopP
	}
	if c.MaxTokens != 0 {
		p["max_tokens"] = c.MaxTokens
	}
	if len(c.Stop) > 0 {
		p["stop"] = c.Stop
	}
	if len(p) == 0 {
		p = nil
	}
	return c.Model, p
}

// withOutput completes the call its start described with the model's
// answer: the message, and usage from the callback output's TokenUsage or,
// without one, the message's response meta.
func withOutput(call flowtrace.ModelCall, m *schema.Message, cfg *model.Config, u *model.TokenUsage) flowtrace.ModelCall {
	if model, params := config(cfg); call.Model == "" {
		call.Model = model
		if call.Parameters == nil {
			call.Parameters = params
		}
	}
	if m != nil {
		call.Output = messages(m)
		if rm := m.ResponseMeta; rm != nil {
			if rm.FinishReason != "" {
				call.FinishReasons = []string{rm.FinishReason}
			}
			if r := rm.Usage; r != nil && u == nil {
				call.Usage = usage(r.PromptTokens, r.PromptTokenDetails.CachedTokens, r.CompletionTokens, r.TotalTokens, r.CompletionTokensDetails.ReasoningTokens)
			}
		}
	}
	if u != nil {
		call.Usage = usage(u.PromptTokens, u.PromptTokenDetails.CachedTokens, u.CompletionTokens, u.TotalTokens, u.CompletionTokensDetails.ReasoningTokens)
	}
	return call
}

func usage(in, cached, out, total, reasoning int) flowtrace.Usage {
	if total == 0 {
		total = in + out
	}
	return flowtrace.Usage{InputTokens: int64(in), OutputTokens: int64(out), TotalTokens: int64(total),
		CacheReadTokens: int64(cached), ReasoningTokens: int64(reasoning)}
}

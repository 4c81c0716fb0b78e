package ftopenai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/internal/sse"
)

// This file reads a streamed answer as it flows to the caller: the
// response's body is replaced by an sse.Reader, which passes each byte on
// unchanged and tells streamAcc each event, so the stream is never held
// whole a second time, and what arrived is known whenever the stream
// stops. Event names are not needed: the Responses API repeats them in the
// data's type, and chat chunks have none.
//
// The stream's component ends once, at the first of:
//
//	the last event       ([DONE]; response.completed, .incomplete or .failed; an error event)  with the API's error, if any
//	end of body          before the last event: ErrStreamCut
//	a read error         ErrStreamCut wrapping it
//	Close                before the last event: ErrStreamClosed

var _ sse.Handler = (*streamAcc)(nil)

// newStreamBody returns the body that replaces resp.Body, rc, for the
// stream of call c, whose answer acc accumulates.
func newStreamBody(rc io.ReadCloser, c *call, acc streamAcc) *sse.Reader {
	acc.c = c
	return sse.NewReader(rc, &acc)
}

// Event handles the data of one event and reports whether it was the last.
func (a *streamAcc) Event(_, data []byte) bool {
	a.event(data)
	return a.last
}

// End sets in the call what arrived and ends its component with the
// stream's error.
func (a *streamAcc) End(why sse.Why, err error) {
	a.answer(&a.c.ans)
	switch why {
	case sse.Last:
		err = a.err
	case sse.EOF:
		err = ErrStreamCut
	case sse.ReadError:
		err = fmt.Errorf("%w: %w", ErrStreamCut, err)
	case sse.Closed:
		err = ErrStreamClosed
	}
	a.c.end(err)
}

// streamAcc accumulates a stream's events into an answer.
type streamAcc struct {
	c      *call // whose answer it sets, whose component it ends
	op     operation
	stream *flowtrace.Stream // the component's: time to first chunk, choice 0's text
	last   bool              // the last event has been seen
	err    error             // an error event's

	id, model string
	usage     flowtrace.Usage
	choices   []choiceAcc // by index
	whole     *answer     // the Responses API's terminal event's
}

// choiceAcc is one choice of a chat stream (or, for the Responses API,
// the one answer): its role, its text beyond choice 0 (whose text the
// flowtrace.Stream joins), its calls by index, its finish reason.
type choiceAcc struct {
	role, finish string
	text         strings.Builder
	calls        []flowtrace.ToolCall
	args         []strings.Builder
}

func (ch *choiceAcc) call(i int) (*flowtrace.ToolCall, *strings.Builder) {
	if i < 0 || i > 1024 {
		return nil, nil
	}
	for len(ch.calls) <= i {
		ch.calls = append(ch.calls, flowtrace.ToolCall{})
		ch.args = append(ch.args, strings.Builder{})
	}
	return &ch.calls[i], &ch.args[i]
}

func (a *streamAcc) choice(i int) *choiceAcc {
	if i < 0 || i > 128 {
		return nil
	}
	for len(a.choices) <= i {
		a.choices = append(a.choices, choiceAcc{})
	}
	return &a.choices[i]
}

// appendText adds text to choice i's answer.
func (a *streamAcc) appendText(i int, ch *choiceAcc, text string) {
	if i == 0 {
		a.stream.Chunk(text)
		return
	}
	if ch.text.Len() < flowtrace.DefaultMaxStringLen {
		ch.text.WriteString(text)
	}
}

func appendArgs(b *strings.Builder, s string) {
	if b.Len() < flowtrace.DefaultMaxStringLen {
		b.WriteString(s)
	}
}

// event handles the data of one event.
func (a *streamAcc) event(data []byte) {
	if bytes.HasPrefix(data, []byte("[DONE]")) {
		a.last = true
		return
	}
	if a.op == opResponses {
		a.responsesEvent(data)
		return
	}
	var v struct {
		ID      string `json:"id"`
		Model   string `json:"model"`
		Choices []struct {
			Index        int         `json:"index"`
			Delta        chatMessage `json:"delta"`
			FinishReason string      `json:"finish_reason"`
		} `json:"choices"`
		Usage *chatUsage `json:"usage"`
		Error *errorBody `json:"error"`
	}
	if json.Unmarshal(data, &v) != nil {
		return
	}
	if v.Error != nil {
		a.last, a.err = true, v.Error.apiError(0)
		return
	}
	a.id, a.model = cmp(a.id, v.ID), cmp(a.model, v.Model)
	if v.Usage != nil {
		a.usage = v.Usage.usage()
	}
	for _, c := range v.Choices {
		ch := a.choice(c.Index)
		if ch == nil {
			continue
		}
		ch.role = cmp(ch.role, c.Delta.Role)
		ch.finish = cmp(ch.finish, c.FinishReason)
		a.appendText(c.Index, ch, contentText(c.Delta.Content)) // the first, even empty, times the first chunk
		for _, d := range c.Delta.ToolCalls {
			tc, args := ch.call(d.Index)
			if tc == nil {
				continue
			}
			tc.ID, tc.Name = cmp(tc.ID, d.ID), cmp(tc.Name, d.Function.Name)
			appendArgs(args, d.Function.Arguments)
		}
	}
}

// responsesEvent handles an event of a Responses stream: text and
// argument deltas as they come, the whole response from its terminal
// event.
func (a *streamAcc) responsesEvent(data []byte) {
	var v struct {
		Type        string           `json:"type"`
		Delta       string           `json:"delta"`
		OutputIndex int              `json:"output_index"`
		Item        *responsesItem   `json:"item"`
		Response    *responsesObject `json:"response"`
		errorBody
	}
	if json.Unmarshal(data, &v) != nil {
		return
	}
	ch := a.choice(0)
	switch v.Type {
	case "response.created", "response.in_progress":
		if v.Response != nil {
			a.id, a.model = cmp(a.id, v.Response.ID), cmp(a.model, v.Response.Model)
		}
	case "response.output_item.added":
		a.stream.Chunk("")
		if v.Item != nil && v.Item.Type == "function_call" {
			if tc, _ := ch.call(v.OutputIndex); tc != nil {
				tc.ID, tc.Name = v.Item.CallID, v.Item.Name
			}
		}
	case "response.output_text.delta", "response.refusal.delta":
		a.appendText(0, ch, v.Delta)
	case "response.function_call_arguments.delta":
		if _, args := ch.call(v.OutputIndex); args != nil {
			appendArgs(args, v.Delta)
		}
	case "response.completed", "response.incomplete", "response.failed":
		a.last = true
		if v.Response != nil {
			var whole answer
			v.Response.fill(&whole)
			a.whole, a.err = &whole, whole.err
		}
	case "error":
		a.last, a.err = true, v.errorBody.apiError(0)
	}
}

// answer sets in ans what arrived.
func (a *streamAcc) answer(ans *answer) {
	if a.whole != nil {
		*ans = *a.whole
		ans.err = nil
		return
	}
	ans.id, ans.model, ans.usage = a.id, a.model, a.usage
	for i := range a.choices {
		ch := &a.choices[i]
		msg := flowtrace.Message{Role: cmp(ch.role, "assistant"), Content: ch.text.String()}
		if i == 0 {
			msg.Content = a.stream.Text()
		}
		for j, tc := range ch.calls {
			if tc.ID == "" && tc.Name == "" && ch.args[j].Len() == 0 {
				continue // an index skipped (an output item that is not a call)
			}
			tc.Arguments = ch.args[j].String()
			msg.ToolCalls = append(msg.ToolCalls, tc)
		}
		ans.output = append(ans.output, msg)
		if ch.finish != "" {
			ans.finish = append(ans.finish, ch.finish)
		}
	}
	ans.output = slices.Clip(ans.output)
}

// cmp returns a, or b when a is empty.
func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

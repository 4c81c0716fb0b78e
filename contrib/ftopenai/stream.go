package ftopenai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/flowtrace/flowtrace"
)

// This file parses a streamed answer as it flows to the caller. sseBody
// replaces the response's body: each Read passes the bytes on unchanged
// and feeds them to a server-sent-events parser, which keeps only the line
// it has not yet seen the end of and the data of the event being read. So
// the stream is never held whole a second time, and what arrived is known
// whenever the stream stops.
//
// The stream's component ends once, at the first of:
//
//	the last event       ([DONE]; response.completed, .incomplete or .failed; an error event)  with the API's error, if any
//	end of body          before the last event: ErrStreamCut
//	a read error         ErrStreamCut wrapping it
//	Close                before the last event: ErrStreamClosed

// maxLine bounds the line being parsed; a longer one (no event is near
// it) is skipped rather than kept.
const maxLine = 8 << 20

type sseBody struct {
	rc io.ReadCloser

	mu   sync.Mutex // Read and Close may race when a ctx is cancelled
	c    *call
	acc  streamAcc
	line []byte // the start of a line whose end has not arrived
	skip bool   // the line being read is past maxLine
	evt  []byte // the data of the event being read
	done bool
}

func (b *sseBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.mu.Lock()
	if b.done {
		b.mu.Unlock()
		return n, err
	}
	b.feed(p[:n])
	var end bool
	var endErr error
	switch {
	case b.acc.last:
		end, endErr = true, b.acc.err
	case err == io.EOF:
		end, endErr = true, ErrStreamCut
	case err != nil:
		end, endErr = true, fmt.Errorf("%w: %w", ErrStreamCut, err)
	}
	c := b.finish(end)
	b.mu.Unlock()
	c.end(endErr) // outside the lock: ending a component may run the caller's redactor
	return n, err
}

func (b *sseBody) Close() error {
	err := b.rc.Close()
	b.mu.Lock()
	c := b.finish(true)
	last, lastErr := b.acc.last, b.acc.err
	b.mu.Unlock()
	if last {
		c.end(lastErr)
	} else {
		c.end(ErrStreamClosed)
	}
	return err
}

// finish marks the body done, when end, and returns its call with what
// arrived, the first time only; otherwise nil. b.mu is held.
func (b *sseBody) finish(end bool) *call {
	if !end || b.done {
		return nil
	}
	b.done = true
	b.acc.answer(&b.c.ans)
	b.line, b.evt = nil, nil
	return b.c
}

// feed parses p, the bytes of one Read, line by line.
func (b *sseBody) feed(p []byte) {
	for len(p) > 0 && !b.acc.last {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if !b.skip && len(b.line)+len(p) <= maxLine {
				b.line = append(b.line, p...)
			} else {
				b.skip, b.line = true, b.line[:0]
			}
			return
		}
		line := p[:i]
		p = p[i+1:]
		if len(b.line) > 0 {
			b.line = append(b.line, line...)
			line = b.line
		}
		if !b.skip {
			b.onLine(bytes.TrimSuffix(line, []byte{'\r'}))
		}
		b.skip, b.line = false, b.line[:0]
	}
}

// onLine handles one line of the event stream: a data line adds to the
// event, an empty line dispatches it. Event names are not needed: the
// Responses API repeats them in the data's type, and chat chunks have none.
func (b *sseBody) onLine(line []byte) {
	if len(line) == 0 {
		if len(b.evt) > 0 {
			b.acc.event(b.evt)
			b.evt = b.evt[:0]
		}
		return
	}
	name, value, _ := bytes.Cut(line, []byte{':'})
	if string(name) != "data" {
		return
	}
	value = bytes.TrimPrefix(value, []byte{' '})
	if len(b.evt) > 0 {
		b.evt = append(b.evt, '\n')
	}
	b.evt = append(b.evt, value...)
}

// streamAcc accumulates a stream's events into an answer.
type streamAcc struct {
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

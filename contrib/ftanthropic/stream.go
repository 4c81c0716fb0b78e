package ftanthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/flowtrace/flowtrace"
)

// This file parses a streamed answer as it flows to the caller. sseBody
// replaces the response's body: each Read passes the bytes on unchanged
// and feeds them to a server-sent-events parser, which keeps only the line
// it has not yet seen the end of and the data of the event being read.
//
// The stream's component ends once, at the first of:
//
//	message_stop, or an error event   with the API's error, if any
//	end of body                       before message_stop: ErrStreamCut
//	a read error                      ErrStreamCut wrapping it
//	Close                             before message_stop: ErrStreamClosed

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
// data's type repeats them.
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

// streamAcc accumulates a stream's events into an answer: message_start
// gives the ID, model and first usage; content_block_start and
// content_block_delta the text (joined by the component's
// flowtrace.Stream, which times the first chunk) and the tool calls
// (input_json_delta joined); message_delta the stop reason and the
// cumulative usage, which replaces the counts it carries.
type streamAcc struct {
	stream *flowtrace.Stream
	last   bool
	err    error

	id, model, role, stop string
	usage                 apiUsage
	calls                 map[int]*toolAcc // by block index
	order                 []int
}

type toolAcc struct {
	id, name string
	args     strings.Builder
}

func (a *streamAcc) event(data []byte) {
	var v struct {
		Type         string     `json:"type"`
		Index        int        `json:"index"`
		Message      *message   `json:"message"`
		ContentBlock *block     `json:"content_block"`
		Error        *errorBody `json:"error"`
		Usage        *apiUsage  `json:"usage"`
		Delta        struct {
			Type        string `json:"type"`
			Text        string `json:"text"`
			PartialJSON string `json:"partial_json"`
			StopReason  string `json:"stop_reason"`
		} `json:"delta"`
	}
	if json.Unmarshal(data, &v) != nil {
		return
	}
	switch v.Type {
	case "message_start":
		if m := v.Message; m != nil {
			a.id, a.model, a.role = m.ID, m.Model, m.Role
			a.usage.merge(&m.Usage)
		}
	case "content_block_start":
		a.stream.Chunk("")
		if b := v.ContentBlock; b != nil {
			switch b.Type {
			case "text":
				a.stream.Chunk(b.Text)
			case "tool_use", "server_tool_use":
				if a.calls == nil {
					a.calls = make(map[int]*toolAcc, 2)
				}
				if _, ok := a.calls[v.Index]; !ok {
					a.order = append(a.order, v.Index)
				}
				a.calls[v.Index] = &toolAcc{id: b.ID, name: b.Name}
			}
		}
	case "content_block_delta":
		switch v.Delta.Type {
		case "text_delta":
			a.stream.Chunk(v.Delta.Text)
		case "input_json_delta":
			if tc := a.calls[v.Index]; tc != nil && tc.args.Len() < flowtrace.DefaultMaxStringLen {
				tc.args.WriteString(v.Delta.PartialJSON)
			}
		}
	case "message_delta":
		a.stop = cmp(v.Delta.StopReason, a.stop)
		if v.Usage != nil {
			a.usage.merge(v.Usage)
		}
	case "message_stop":
		a.last = true
	case "error":
		a.last = true
		if v.Error != nil {
			a.err = &APIError{Type: v.Error.Type, Message: v.Error.Message}
		} else {
			a.err = &APIError{}
		}
	}
}

// answer sets in ans what arrived.
func (a *streamAcc) answer(ans *answer) {
	ans.id, ans.model, ans.usage = a.id, a.model, a.usage.usage()
	msg := flowtrace.Message{Role: cmp(a.role, "assistant"), Content: a.stream.Text()}
	for _, i := range a.order {
		tc := a.calls[i]
		args := tc.args.String()
		if args == "" {
			args = "{}" // a tool called without input streams none
		}
		msg.ToolCalls = append(msg.ToolCalls, flowtrace.ToolCall{ID: tc.id, Name: tc.name, Arguments: args})
	}
	if msg.Content != "" || len(msg.ToolCalls) > 0 {
		ans.output = []flowtrace.Message{msg}
	}
	if a.stop != "" {
		ans.finish = []string{a.stop}
	}
}

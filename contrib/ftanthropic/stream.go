package ftanthropic

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/internal/sse"
)

// This file reads a streamed answer as it flows to the caller: the
// response's body is replaced by an sse.Reader, which passes each byte on
// unchanged and tells streamAcc each event. Event names are not needed:
// the data's type repeats them.
//
// The stream's component ends once, at the first of:
//
//	message_stop, or an error event   with the API's error, if any
//	end of body                       before message_stop: ErrStreamCut
//	a read error                      ErrStreamCut wrapping it
//	Close                             before message_stop: ErrStreamClosed

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

// streamAcc accumulates a stream's events into an answer: message_start
// gives the ID, model and first usage; content_block_start and
// content_block_delta the text (joined by the component's
// flowtrace.Stream, which times the first chunk) and the tool calls
// (input_json_delta joined); message_delta the stop reason and the
// cumulative usage, which replaces the counts it carries.
type streamAcc struct {
	c      *call // whose answer it sets, whose component it ends
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

// event handles the data of one event.
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

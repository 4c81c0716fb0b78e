package flowtrace

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/flowtrace/flowtrace/internal/values"
)

// This file is the write path: what every record kind — a run's start
// (its name, inputs, metadata and tags) and end (its outputs), a
// component's start (its name, type, inputs and metadata), logs, inputs,
// outputs, model calls, a stream's text, recorded errors — goes through
// between the caller's values and the pipeline, as every level of
// log/slog goes through Logger.log.

// write takes one record of the run through the steps every record
// takes, in this order:
//
//  1. snapshot and bound: fill takes the caller's values into the record
//     with the run's settings (not those of the service the call was made
//     on), on the caller's goroutine, before the write enters any scope
//     (a snapshot runs the caller's code: ending a scope must never wait
//     for it). Every string is masked and scrubbed of the secrets the run
//     has already seen; every value, string, list and label is bounded,
//     and the event's bytes are charged to one Budget;
//  2. learn: the secrets the snapshots masked join the run's set;
//  3. scrub: when they add to the set the snapshots were scrubbed with,
//     fill runs again, from the caller's values, with the new set known
//     from the start: the values taken before the secret was found in the
//     same event are scrubbed of it, and scrubbed before they are cut, so
//     that no part of it survives a cut. (This runs the caller's code a
//     second time, only for an event that teaches the run a secret.)
//  4. emit: with a scope sc, ev is queued in it, or counted late once it
//     has ended. Without one (sc nil), the caller queues ev itself, as
//     part of a scope's lifecycle: a run's start and end, a component's
//     start, the stream recorded at a component's end.
//
// fill names each string and value of the record once, through the
// methods of p, which snapshot, mask, scrub and bound together: a field
// cannot be snapshotted without also being scrubbed. p is the
// caller's, and fill a closure over it, so that neither escapes: a write
// allocates only its record.
func (rs *runState) write(ctx context.Context, sc *Component, ev event, p *pass, fill func()) {
	p.svc = rs.svc
	p.b = rs.budget()
	fill()
	if rs.learn(&p.b) != nil {
		// The event taught the run a secret that what it took before
		// finding it was not scrubbed of; and a string cut at a limit
		// may hold part of it only, which no scrub of the cut text would
		// find. So the pass runs again, the secret known from the start:
		// every string is scrubbed before it is cut.
		p.b = rs.budget()
		fill()
	}
	if sc == nil {
		return
	}
	if !sc.enter() {
		return
	}
	report := rs.pr().Emit(ctx, ev)
	sc.leave()
	rs.pr().Report(report) // the error handler runs outside every scope
}

// event returns the event of a record written in the scope c, with the
// record's ComponentID set: empty in the run's own scope.
func (c *Component) event(data record, componentID *string) event {
	ev := event{Data: data}
	if !c.isRun {
		*componentID = c.info().ComponentID
		ev.Scope = &c.own.scope
	}
	return ev
}

// pass is one pass of a write's fill over its record: the snapshot of the
// caller's values. Each method takes the record's field and the caller's
// value for it.
type pass struct {
	svc *TraceService
	b   values.Budget
}

// exhausted reports whether the event's byte budget is spent: lists stop
// there, with a marker of what was cut.
func (p *pass) exhausted() bool { return p.b.Used() >= p.svc.maxBytes }

// room is the capacity of a list of n items as recorded: n when they fit,
// else MaxItems and the marker. (A list cut by the byte budget grows once
// for its marker: rare, where the common short list gets no spare room.)
func (p *pass) room(n int) int {
	if n > p.svc.maxItems {
		return p.svc.maxItems + 1
	}
	return n
}

// fields records m as Fields, in kv's room when it has enough (see
// withKVs).
func (p *pass) fields(dst *Fields, m map[string]any, kv []values.KV) {
	dst.kv = p.svc.snap.FieldsInto(&p.b, m, kv)
}

// value records v as the value of key: masked when key is (a log's
// message under its name).
func (p *pass) value(dst *any, key string, v any) {
	*dst = p.svc.snap.Keyed(&p.b, key, v)
}

// mapValue records m as a map value.
func (p *pass) mapValue(dst *map[string]any, m map[string]any) {
	*dst = p.svc.snap.Map(&p.b, m)
}

// text records a string value: cut at the string limit, like any.
func (p *pass) text(dst *string, v string) {
	if v == "" {
		*dst = ""
		return
	}
	if out, ok := p.svc.snap.Value(&p.b, v).(string); ok {
		*dst = out
		return
	}
	*dst = Masked
}

// name records a name (a run's, a component's, a log's): masked and
// scrubbed as a string value is, then cut at the string limit with the
// usual marker, like any string value; it stays outside the event's byte
// budget, which bounds its values, so that a long name does not cut the
// inputs recorded with it.
func (p *pass) name(dst *string, v string) {
	n := p.svc.snap.Clean(&p.b, v)
	if len(n) > p.svc.maxString {
		kept := cutUTF8(n, p.svc.maxString)
		n = strings.Clone(kept) + values.Truncated(len(n)-len(kept)) // the caller's large string is not kept
	}
	*dst = n
}

// label records a label (a model, a role, a tag): masked and scrubbed as
// a string value is, first, so that nothing a cut would split escapes
// it; then trimmed, valid UTF-8 and at most MaxTagLen bytes (see
// TraceService.label).
func (p *pass) label(dst *string, v string) {
	*dst = p.svc.label(p.svc.snap.Clean(&p.b, v))
	p.b.Charge(len(*dst) + 2)
}

// labels records a list of labels (finish reasons), bounded like any list
// (MaxItems, then the event's byte limit) with a last label that counts
// what was cut.
func (p *pass) labels(dst *[]string, in []string) {
	if len(in) == 0 {
		return
	}
	out := make([]string, 0, p.room(len(in)))
	for i, v := range in {
		if i == p.svc.maxItems || p.exhausted() {
			out = append(out, "…(truncated "+strconv.Itoa(len(in)-i)+" more items)")
			break
		}
		var l string
		p.label(&l, v)
		out = append(out, l)
	}
	*dst = out
}

// tags records a run's tags (see copyTags), each a label: masked before
// copyTags cuts it, as every label is.
func (p *pass) tags(dst *[]string, in []string) {
	if len(in) == 0 {
		*dst = nil
		return
	}
	masked := make([]string, 0, min(len(in), MaxTags))
	for _, t := range in {
		if len(masked) == MaxTags {
			break
		}
		if t = p.svc.snap.Clean(&p.b, t); strings.TrimSpace(t) != "" { // copyTags drops it
			masked = append(masked, t)
		}
	}
	*dst = copyTags(masked)
	for _, t := range *dst {
		p.b.Charge(len(t) + 2)
	}
}

// modelCall records the strings and values of a model call; its numbers
// are the caller's (see RecordModelCall).
func (p *pass) modelCall(dst, src *ModelCall) {
	p.label(&dst.Model, src.Model)
	p.label(&dst.Provider, src.Provider)
	p.label(&dst.ResponseID, src.ResponseID)
	p.label(&dst.ResponseModel, src.ResponseModel)
	p.mapValue(&dst.Parameters, src.Parameters)
	p.messages(&dst.Input, src.Input)
	p.messages(&dst.Output, src.Output)
	p.labels(&dst.FinishReasons, src.FinishReasons)
}

// messages records chat messages, bounded like any list (MaxItems, then
// the event's byte limit): what is cut is counted in a last message of
// role "!truncated".
func (p *pass) messages(dst *[]Message, in []Message) {
	if len(in) == 0 {
		return
	}
	out := make([]Message, 0, p.room(len(in)))
	for i := range in {
		if i == p.svc.maxItems || p.exhausted() {
			out = append(out, Message{Role: "!truncated", Content: fmt.Sprintf("%d more messages", len(in)-i)})
			break
		}
		out = append(out, Message{})
		p.message(&out[len(out)-1], &in[i])
		p.b.Charge(framing)
	}
	*dst = out
}

// framing is what a message or a tool call costs the event's byte
// budget besides its strings: its field names, as exporters write them.
const framing = 64

// message records one message: its names as labels, its content as a
// value.
func (p *pass) message(dst, src *Message) {
	p.label(&dst.Role, src.Role)
	p.label(&dst.Name, src.Name)
	p.label(&dst.ToolCallID, src.ToolCallID)
	p.text(&dst.Content, src.Content)
	p.toolCalls(&dst.ToolCalls, src.ToolCalls)
}

// toolCalls records the tool calls of a message, bounded like any list
// (MaxItems, then the event's byte limit): what is cut is counted in a
// last tool call named "!truncated".
func (p *pass) toolCalls(dst *[]ToolCall, in []ToolCall) {
	if len(in) == 0 {
		return
	}
	out := make([]ToolCall, 0, p.room(len(in)))
	for i := range in {
		if i == p.svc.maxItems || p.exhausted() {
			out = append(out, ToolCall{Name: "!truncated", Arguments: fmt.Sprintf("%d more tool calls", len(in)-i)})
			break
		}
		out = append(out, ToolCall{})
		p.toolCall(&out[len(out)-1], &in[i])
		p.b.Charge(framing)
	}
	*dst = out
}

// toolCall records one tool call: its names as labels, its arguments as a
// value.
func (p *pass) toolCall(dst, src *ToolCall) {
	p.label(&dst.ID, src.ID)
	p.label(&dst.Name, src.Name)
	p.text(&dst.Arguments, src.Arguments)
}

// streamed records a Stream's text as the one message of an answer; the
// text was cut at the string limit as it was joined, cut bytes counted.
func (p *pass) streamed(dst *[]Message, text string, cut int) {
	p.messages(dst, []Message{{Role: "assistant", Content: text}})
	if cut > 0 {
		(*dst)[0].Content += values.Truncated(cut)
	}
}

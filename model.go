package flowtrace

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/flowtrace/flowtrace/internal/values"
)

// Usage counts the tokens of one model call. Zero means unknown (or none).
type Usage struct {
	InputTokens, OutputTokens, TotalTokens int64
	// CacheReadTokens and CacheWriteTokens are the input tokens read from
	// and written to a prompt cache; ReasoningTokens the output tokens
	// spent reasoning. They are parts of InputTokens and OutputTokens.
	CacheReadTokens, CacheWriteTokens, ReasoningTokens int64
}

// ToolCall is a model's request to call a tool.
type ToolCall struct {
	ID, Name string
	// Arguments is the call's arguments as the model wrote them (JSON,
	// usually).
	Arguments string
}

// Message is one chat message given to or produced by a model.
type Message struct {
	Role, Content string
	// Name names the author where the API has one (a function, a user).
	Name string
	// ToolCallID is, in a tool's answer, the call it answers.
	ToolCallID string
	ToolCalls  []ToolCall
}

// ModelCall describes one call to a model (usually the work of a component
// of type TypeLLM), for backends to render as such: model, provider,
// parameters, messages, token usage and cost. Every field is optional.
type ModelCall struct {
	Model, Provider string
	// ResponseID is the ID the API gave its answer; ResponseModel the
	// model that answered, which may name a version Model did not.
	ResponseID, ResponseModel string
	// Stream reports whether the answer was asked for as a stream. A
	// Stream's own record (see Stream) sets it.
	Stream bool
	// Parameters are the invocation parameters: temperature, max_tokens...
	Parameters    map[string]any
	Input, Output []Message
	Usage         Usage
	// Cost is the call's total cost in US dollars; 0 means unknown.
	// InputCost and OutputCost are its parts for the input (prompt) and
	// output (completion) tokens, where the caller knows them.
	Cost, InputCost, OutputCost float64
	FinishReasons               []string
	// TimeToFirstChunk is, for a streamed answer, the time from the
	// component's start to its first chunk (see Stream). It is never
	// recorded negative: a negative one (a ComponentInfo.Start from a
	// skewed clock, say) is recorded as 0, which reads as unknown.
	TimeToFirstChunk time.Duration
}

// ModelCallRecord is a ModelCall as exporters receive it: snapshotted when
// RecordModelCall was called, with the scope it was recorded in.
// ComponentID is empty for a call recorded at run level.
//
// Every string of it gets the masking and scrubbing of a log message:
// parameters and message contents and arguments are values, masked and
// limited like any; the model, the provider, the response ID and model, roles, names, tool call IDs
// and names and finish reasons are labels (trimmed, valid UTF-8, at most
// MaxTagLen bytes), with the user info of a URL masked and the run's
// secrets scrubbed. Its lists are bounded like any list, by WithMaxItems
// and by the event's byte limit (WithMaxEventBytes): what is cut is
// counted in a last message of role "!truncated", a last tool call named
// "!truncated", a last finish reason "…(truncated N more items)".
type ModelCallRecord struct {
	RunID       string
	ComponentID string
	Call        ModelCall
	Time        time.Time
}

// ModelCallExporter is a RunExporter that receives model calls as typed
// records. A RunExporter without it receives each as a LogEntry named
// "model_call", of type "model", whose message holds the call's fields:
// an exporter written before model calls existed loses nothing. The
// library checks for it once per run.
type ModelCallExporter interface {
	RecordModelCall(ctx context.Context, call ModelCallRecord) error
}

// RecordModelCall records a model call in the scope ctx carries (the
// component of the call, usually). It is snapshotted before it returns,
// on the caller's goroutine, like every other write.
//
// A call may be recorded in parts — the request when the component starts,
// the answer and usage when it ends: the records of one component describe
// one call, and exporters merge them, later non-empty fields winning (the
// OpenTelemetry bridge sets the attributes of each part on the same span;
// memory's Component.ModelCall merges its records).
func (s *TraceService) RecordModelCall(ctx context.Context, call ModelCall) {
	if s.off() {
		return
	}
	sc := s.scope(ctx, opRecordModelCall)
	if sc == nil {
		return
	}
	rs := sc.run
	now := rs.now()
	if call.TimeToFirstChunk == 0 {
		call.TimeToFirstChunk = sc.stream.Load().TimeToFirstChunk()
	}
	if len(call.Output) > 0 {
		sc.answered()
	}
	svc := rs.svc // the run's settings, not the receiver's
	rec := &ModelCallRecord{RunID: rs.info.RunID, Time: now, Call: ModelCall{
		Usage:            call.Usage.valid(),
		Cost:             svc.cost(call.Cost),
		InputCost:        svc.cost(call.InputCost),
		OutputCost:       svc.cost(call.OutputCost),
		TimeToFirstChunk: max(call.TimeToFirstChunk, 0),
		Stream:           call.Stream,
	}}
	var p pass
	rs.write(ctx, sc, sc.event(rec, &rec.ComponentID), &p, func() { p.modelCall(&rec.Call, &call) })
}

// valid returns u with negative counts, which no API reports, as 0.
func (u Usage) valid() Usage {
	for _, n := range []*int64{&u.InputTokens, &u.OutputTokens, &u.TotalTokens, &u.CacheReadTokens, &u.CacheWriteTokens, &u.ReasoningTokens} {
		*n = max(*n, 0)
	}
	return u
}

// cost returns c, or 0 (unknown), reported, for a cost no exporter can
// encode: NaN, an infinity, or a negative amount.
func (s *TraceService) cost(c float64) float64 {
	if math.IsNaN(c) || math.IsInf(c, 0) || c < 0 {
		s.onError(fmt.Errorf("RecordModelCall: cost %v is not a number of dollars; recorded as unknown", c))
		return 0
	}
	return c
}

// label returns a name-like string (a model, a role) as records keep it:
// valid UTF-8, trimmed, at most MaxTagLen bytes. Like a string value of a
// snapshot, a label that fits is the caller's own string (a label is set
// on every message of every call, and strings are immutable), and one
// that was cut is copied, so that a record never keeps a large string of
// the caller's alive for its first bytes.
func (s *TraceService) label(v string) string {
	if v == "" {
		return ""
	}
	t := cleanLabel(v)
	if len(v) > MaxTagLen && t != "" {
		t = strings.Clone(t)
	}
	return t
}

// asLog is the fallback form of a model call for an exporter without
// ModelCallExporter.
func (r *ModelCallRecord) asLog() LogEntry {
	c := &r.Call
	m := map[string]any{}
	put := func(k string, v any, ok bool) {
		if ok {
			m[k] = v
		}
	}
	put("model", c.Model, c.Model != "")
	put("provider", c.Provider, c.Provider != "")
	put("response_id", c.ResponseID, c.ResponseID != "")
	put("response_model", c.ResponseModel, c.ResponseModel != "")
	put("stream", true, c.Stream)
	put("parameters", c.Parameters, len(c.Parameters) > 0)
	put("input_messages", messagesAny(c.Input), len(c.Input) > 0)
	put("output_messages", messagesAny(c.Output), len(c.Output) > 0)
	u := c.Usage
	usage := map[string]any{}
	for k, v := range map[string]int64{"input_tokens": u.InputTokens, "output_tokens": u.OutputTokens, "total_tokens": u.TotalTokens,
		"cache_read_tokens": u.CacheReadTokens, "cache_write_tokens": u.CacheWriteTokens, "reasoning_tokens": u.ReasoningTokens} {
		if v != 0 {
			usage[k] = v
		}
	}
	put("usage", usage, len(usage) > 0)
	put("cost", c.Cost, c.Cost != 0)
	put("input_cost", c.InputCost, c.InputCost != 0)
	put("output_cost", c.OutputCost, c.OutputCost != 0)
	if len(c.FinishReasons) > 0 {
		fr := make([]any, len(c.FinishReasons))
		for i, r := range c.FinishReasons {
			fr[i] = r
		}
		m["finish_reasons"] = fr
	}
	put("time_to_first_chunk", c.TimeToFirstChunk.String(), c.TimeToFirstChunk != 0)
	return LogEntry{RunID: r.RunID, ComponentID: r.ComponentID, Name: "model_call", Type: "model", Message: m, Time: r.Time}
}

func messagesAny(ms []Message) []any {
	out := make([]any, len(ms))
	for i, msg := range ms {
		m := msg.TraceValue().(map[string]any)
		if calls, ok := m["tool_calls"].([]any); ok {
			for j, c := range calls {
				calls[j] = c.(ToolCall).TraceValue()
			}
		}
		out[i] = m
	}
	return out
}

// Stream accumulates a streamed answer of the component it was started in:
// chunks are joined (up to the service's maximum string length, the rest
// counted in the usual marker of a cut string, "…(truncated 1.2 KiB)")
// rather than recorded one event per token, and the time to the first
// chunk is stamped when it arrives.
//
// What a Stream of StartStream joined is recorded when its scope ends —
// the component, by End, by the last release of a Hold or by the run's
// end; or the run itself — as the output of the scope's model call: a
// ModelCallRecord with one message of role "assistant" whose content is
// the text, masked, scrubbed of the run's secrets and limited like any
// string value, and with the time to first chunk. Exporters merge it with
// the scope's other model call records (see RecordModelCall). It is not
// recorded when, once StartStream has been called, a model call with
// output messages is recorded in the scope (by an engine that records the
// answer it joined, with its tool calls, itself), nor when no chunk came.
// Chunks after the scope's end are not recorded.
//
// Its methods are safe for concurrent use and nil-safe: StartStream
// returns nil where there is nothing to record, and a nil *Stream
// accumulates nothing. The zero Stream, for a stream of one's own (a
// streamed input, say), joins up to DefaultMaxStringLen bytes, has no time
// to first chunk and is recorded nowhere.
type Stream struct {
	start time.Time
	limit int

	mu       sync.Mutex
	text     strings.Builder
	cut      int
	first    time.Time
	answered bool // a model call with output was recorded in the scope
	taken    bool // recorded at the scope's end, or not to be
}

// StartStream returns the Stream of the scope ctx carries, timed from that
// scope's start: the same one for every call in one scope, so that an
// engine's chunk callbacks need keep nothing of their own; it goes with
// its component, and what it joined is recorded as the output of the
// component's model call when the component ends (see Stream).
// RecordModelCall in that scope takes its time to first chunk when the
// call gives none. It returns nil when ctx has no run to record in.
func (s *TraceService) StartStream(ctx context.Context) *Stream {
	if s.off() {
		return nil
	}
	sc := s.scope(ctx, opStartStream)
	if sc == nil {
		return nil
	}
	return sc.streamOf()
}

// streamOf returns the Stream of the scope c, made by the first call.
func (c *Component) streamOf() *Stream {
	if st := c.stream.Load(); st != nil {
		return st
	}
	start := c.info().Time
	if c.isRun {
		start = c.run.info.Time
	}
	st := &Stream{start: start, limit: c.run.svc.maxString}
	if !c.stream.CompareAndSwap(nil, st) {
		return c.stream.Load()
	}
	return st
}

// answered notes that a model call with output messages was recorded in
// the scope c: its Stream's text, joined by the same engine, is not
// recorded again at the end. A scope without a Stream yet gets none: a
// model call costs no Stream of its own.
func (c *Component) answered() {
	st := c.stream.Load()
	if st == nil {
		return
	}
	st.mu.Lock()
	st.answered = true
	st.mu.Unlock()
}

// Chunk adds a chunk of the answer. The first one stamps the time to the
// first chunk.
func (st *Stream) Chunk(text string) {
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.first.IsZero() {
		st.first = time.Now()
	}
	limit := st.limit
	if limit == 0 {
		limit = DefaultMaxStringLen
	}
	if st.cut > 0 { // past the limit: later chunks are counted, never kept after a gap
		st.cut += len(text)
		return
	}
	room := limit - st.text.Len()
	if len(text) > room {
		kept := cutUTF8(text, max(room, 0))
		st.text.WriteString(kept)
		st.cut += len(text) - len(kept)
		return
	}
	st.text.WriteString(text)
}

// Text returns the answer so far: the chunks joined, with the usual
// marker of a cut string when bytes past the limit were not kept.
func (st *Stream) Text() string {
	if st == nil {
		return ""
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.cut > 0 {
		return st.text.String() + values.Truncated(st.cut)
	}
	return st.text.String()
}

// TimeToFirstChunk returns the time from the scope's start to the first
// chunk, or 0 before the first chunk. A first chunk before the scope's
// start, which a ComponentInfo.Start from a skewed clock can give, counts
// as at the start: the result is never negative.
func (st *Stream) TimeToFirstChunk() time.Duration {
	if st == nil {
		return 0
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.ttfc()
}

func (st *Stream) ttfc() time.Duration {
	if st.first.IsZero() || st.start.IsZero() {
		return 0
	}
	return max(st.first.Sub(st.start), 0)
}

// take returns, once, what the Stream joined, to be recorded at its
// scope's end: the text kept, the bytes cut and the time to first chunk;
// ok is false when there is nothing to record (no chunk, an answer
// recorded by the caller, a second call).
func (st *Stream) take() (text string, cut int, ttfc time.Duration, ok bool) {
	if st == nil {
		return "", 0, 0, false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.taken || st.answered || st.first.IsZero() || st.text.Len()+st.cut == 0 {
		st.taken = true
		return "", 0, 0, false
	}
	st.taken = true
	return st.text.String(), st.cut, st.ttfc(), true
}

// emitStream queues the record of what the Stream of the scope c joined,
// if there is one (see Stream), for a scope that is ending: the caller
// has closed it to writes, and holds its run open. It returns Emit's
// report, for the caller to pass on once it has left the run.
func (c *Component) emitStream(ctx context.Context, pr *deliveryRun, now time.Time) error {
	ev, ok := c.recordStream(now)
	if !ok {
		return nil
	}
	return pr.Emit(ctx, ev)
}

// recordStream builds the record of the text the Stream of the scope c
// joined, if there is one to record (see Stream), through the write path;
// the caller, ending the scope, queues it. ok is false when there is
// none.
func (c *Component) recordStream(now time.Time) (ev event, ok bool) {
	text, cut, ttfc, ok := c.stream.Load().take()
	if !ok {
		return event{}, false
	}
	rs := c.run
	rec := &ModelCallRecord{RunID: rs.info.RunID, Time: now, Call: ModelCall{TimeToFirstChunk: ttfc, Stream: true}}
	ev = c.event(rec, &rec.ComponentID)
	var p pass
	rs.write(nil, nil, ev, &p, func() { p.streamed(&rec.Call.Output, text, cut) })
	return ev, true
}

var (
	_ Valuer = Message{}
	_ Valuer = ToolCall{}
)

// TraceValue records a message, where it appears in a value (the outputs
// of an engine's component, say), by its fields, leaving out those that are
// empty.
func (m Message) TraceValue() any {
	v := map[string]any{"role": m.Role, "content": m.Content}
	if m.Name != "" {
		v["name"] = m.Name
	}
	if m.ToolCallID != "" {
		v["tool_call_id"] = m.ToolCallID
	}
	if len(m.ToolCalls) > 0 {
		calls := make([]any, len(m.ToolCalls))
		for i, tc := range m.ToolCalls {
			calls[i] = tc
		}
		v["tool_calls"] = calls
	}
	return v
}

// TraceValue records a tool call by its fields.
func (tc ToolCall) TraceValue() any {
	return map[string]any{"id": tc.ID, "name": tc.Name, "arguments": tc.Arguments}
}

package flowtrace

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/flowtrace/flowtrace/internal/pipeline"
	"github.com/flowtrace/flowtrace/internal/values"
)

// ComponentInfo describes a component to TraceComponent. ID is generated
// when empty; an engine that knows its own call IDs can give them, and find
// the component again with ComponentByID. An ID already used by an open
// component of the run is replaced by a generated one and reported as
// ErrDuplicateComponent. A component whose End waits for a hold (see
// TraceService.Hold) has ended for this check: its ID may be used again at
// once, and ComponentByID finds the new component by it, though the new
// one's records carry a generated ID, so that exporters (which see the old
// one open until its hold is released) can tell the two apart. Type is
// free, the Type constants being the kinds backends render. Inputs and
// Metadata are snapshotted when TraceComponent is called, so the caller may
// reuse them at once. Start is when the component started, for an engine
// that learns of a step after the fact; zero means now. Name and Type are
// recorded as the strings of a log message are: a URL's user info masked,
// the run's secrets scrubbed; the ID is identity, recorded as given. The
// zero value is an unnamed component starting now.
type ComponentInfo struct {
	ID, Name, Type   string
	Inputs, Metadata map[string]any
	Start            time.Time
}

// Component is an open component of a run, returned by TraceComponent to be
// ended with End. Its methods are safe for concurrent use. A nil *Component
// and the zero Component are valid: End on them does nothing.
type Component struct {
	run *runState
	// own is what only a component has, not a run's own scope (nil): in
	// the component's own allocation (see componentBlock), so that a run's
	// scope, which lives in the run's record, pays for none of it.
	own *componentOwn

	isRun   bool
	linked  bool         // in run.open; guarded by run.mu
	skipped bool         // a start that was refused: a marker, never delivered
	forced  atomic.Bool  // ended by EndTracers or Shutdown, not by its caller
	holds   atomic.Int32 // open Holds taken in the component; changed under run.mu

	parent *Component             // the enclosing scope (a component, or the run's own)
	stream atomic.Pointer[Stream] // the component's Stream, once StartStream made one

	tail atomic.Pointer[componentTail] // the end record and the first log and outputs; made by the first of them

	ctx scopeCtx // the ctx TraceComponent returns; set before it is published
}

// TraceComponent starts a component in the run carried by ctx and returns a
// ctx scoped to it, with the Component to End. A component started in the
// ctx of another component is its child. The receiver's ctx is unchanged.
//
// If ctx carries no run, or its run or component has ended, TraceComponent
// reports it to the error handler and returns ctx and a nil *Component,
// on which End is a no-op. When the refusal is because the run or the
// parent component had ended, the ctx returned carries a marker of the
// refused start, so that EndComponent with it ends nothing (and never the
// parent) and writes through it count as late. In an unsampled run it
// returns ctx and a nil *Component without reporting anything: the run's
// span stays the current one, and nothing is allocated.
func (s *TraceService) TraceComponent(ctx context.Context, info ComponentInfo) (context.Context, *Component) {
	if s.off() {
		return ctx, nil
	}
	parent := scopeFromContext(ctx)
	if parent == nil {
		s.noRun(opTraceComponent)
		return ctx, nil
	}
	if !parent.run.sampled {
		return ctx, nil
	}
	rs := parent.run
	now := info.Start
	if now.IsZero() {
		now = rs.now()
	}
	// One allocation holds the scope, its start record, its ctx and its
	// inputs' entries (see withKVs).
	b, kv := withKVs[componentBlock](len(info.Inputs))
	c := &b.c
	c.run, c.parent, c.own = rs, parent, &b.own
	spanID := newSpanID()
	id := info.ID
	if id == "" {
		hex.Encode(b.id[:], spanID[:])
		id = unsafe.String(&b.id[0], len(b.id)) // never written again
	}
	// The snapshot runs the caller's code (String, MarshalJSON, a
	// Redactor), so it is taken before entering any scope: ending a scope
	// waits only for enqueues, never for the caller's code.
	*c.info() = startInfo{ComponentID: id, SpanID: spanID, Time: now}
	var p pass
	rs.write(ctx, nil, event{}, &p, func() { // queued below, once the component is open
		p.name(&c.info().Name, info.Name)
		p.name(&c.info().Type, info.Type)
		p.fields(&c.info().Inputs, info.Inputs, kv)
		p.fields(&c.info().Metadata, info.Metadata, nil)
	})
	// The scope ctx exists before anything can end the component: its end
	// is queued through it, so that an exporter ending a component it
	// started from its own call is known for what it is (see pushWait).
	cctx := withScope(ctx, c)
	if !parent.enter() {
		c.skip()
		return cctx, nil
	}
	// The component's own gate is held from the moment EndTracers can find
	// it in the open list until its start is queued: ending it waits for
	// that, so its end is never queued before its start.
	c.own.gate.Enter()
	rs.mu.Lock()
	if rs.closing {
		rs.mu.Unlock()
		c.skip()
		c.own.gate.Leave()
		parent.leave()
		rs.late(nil)
		return cctx, nil
	}
	dup := rs.link(c, info.ID, spanID)
	rs.mu.Unlock()
	rs.components.Add(1)
	report := rs.pr().Emit(ctx, event{Data: b, Scope: &c.own.scope, Opens: true})
	c.own.gate.Leave()
	parent.leave()
	rs.pr().Report(report) // the error handler runs outside every scope
	if dup {
		s.onError(fmt.Errorf("TraceComponent %q in run %s: ID %q: %w; it was given ID %s", c.info().Name, rs.info.RunID, info.ID, ErrDuplicateComponent, c.info().ComponentID))
	}
	return cctx, c
}

// componentBlock is the one allocation of a component: the live scope
// and what its start record tells of it (which a run's own scope does
// without). It is the record queued for the start: the ComponentStart is
// built when it is delivered, from the block and from the parent and run
// it points to, all immutable by then, so the block does not keep a
// second copy of the run's and the parent's IDs.
type componentBlock struct {
	c   Component
	own componentOwn
	id  [16]byte // a generated ID's text, ComponentID's bytes; never written again
}

// componentOwn is the part of a Component that a run's own scope does
// without.
type componentOwn struct {
	// start is what the start record tells of the component itself,
	// immutable once published.
	start startInfo
	scope pipeline.Scope
	gate  pipeline.Gate

	pending *pendingEnd // an End waiting for the last Hold's release; guarded by run.mu

	prev, next *Component // run.open list; guarded by run.mu
}

// info returns what the start record tells of c itself: for a run's own
// scope (or the zero Component), the shared noStart.
func (c *Component) info() *startInfo {
	if c.own == nil {
		return &noStart
	}
	return &c.own.start
}

// startInfo is a component's part of its ComponentStart: the fields that
// are not its run's or its parent's. Same names, same meaning.
type startInfo struct {
	ComponentID string
	Name        string
	Type        string
	Inputs      Fields
	Metadata    Fields
	SpanID      [8]byte
	Time        time.Time
}

// noStart is the start of every run's own scope: empty, never written.
var noStart startInfo

// startRecord returns the component's ComponentStart.
func (c *Component) startRecord() ComponentStart {
	in := c.info()
	return ComponentStart{
		RunID:        c.run.info.RunID,
		ComponentID:  in.ComponentID,
		ParentID:     c.parentID(),
		ParentSpanID: c.parent.spanID(),
		Name:         in.Name,
		Type:         in.Type,
		Inputs:       in.Inputs,
		Metadata:     in.Metadata,
		SpanID:       in.SpanID,
		Time:         in.Time,
	}
}

// parentID returns the ID of the component's parent, or "" under the run.
func (c *Component) parentID() string {
	if c.parent.isRun {
		return ""
	}
	return c.parent.info().ComponentID
}

// spanID returns the span ID of the scope c: its component's, or its run's.
func (c *Component) spanID() [8]byte {
	if c.isRun {
		return c.run.info.SpanID
	}
	return c.info().SpanID
}

// componentTail holds the records of a component besides its start: its
// end, and a slot for its first outputs (or inputs set after the start)
// with room for their entries; made by the first of them, or by the first
// log, which makes it a tailWithLog, with a slot for that log too. So an
// open component that has written nothing is one allocation, one with a
// log and outputs two, and one without a log pays nothing for the slot.
// Each slot is claimed once (outTaken, logTaken); a later record of the
// kind gets an allocation of its own. A record is never changed once
// queued. The records of a component's start (and the ComponentID and
// inputs they share) live in the Component's allocation: an exporter that
// keeps them keeps the component's memory, its ctx included.
type componentTail struct {
	end      ComponentEnd // written once, by the End that closed the gate, before it is queued
	out      Outputs
	outKV    [tailKVs]values.KV
	outTaken atomic.Bool
	logTaken atomic.Bool // set from the start in a tail with no log slot
}

// tailWithLog is a tail made by a log. Its componentTail comes first, so
// that the *componentTail of one is a pointer to the whole.
type tailWithLog struct {
	componentTail
	log LogEntry
}

// tailKVs is the room for the entries of the outputs kept in a tail.
const tailKVs = 2

// tailOf returns c's tail, made by the first caller: with a log slot when
// withLog.
func (c *Component) tailOf(withLog bool) *componentTail {
	if t := c.tail.Load(); t != nil {
		return t
	}
	var t *componentTail
	if withLog {
		t = &new(tailWithLog).componentTail
	} else {
		t = new(componentTail)
		t.logTaken.Store(true) // no slot: published with the tail
	}
	if c.tail.CompareAndSwap(nil, t) {
		return t
	}
	return c.tail.Load()
}

// newLog returns a log record of the scope c to fill: the tail's slot
// for the first, when the tail has one, else an allocation of its own.
func (c *Component) newLog() *LogEntry {
	if t := c.tailOf(true); t.logTaken.CompareAndSwap(false, true) {
		// Not taken, so the tail was made with a slot: t is a tailWithLog's.
		return &(*tailWithLog)(unsafe.Pointer(t)).log
	}
	return new(LogEntry)
}

// newOutputs returns an Outputs record of the scope c to fill, with room
// for n entries (see withKVs): the tail's slot for the first that fits.
func (c *Component) newOutputs(n int) (*Outputs, []values.KV) {
	if n <= tailKVs {
		if t := c.tailOf(false); t.outTaken.CompareAndSwap(false, true) {
			return &t.out, t.outKV[:0]
		}
	}
	return withKVs[Outputs](n)
}

func newSpanID() [8]byte {
	var id [8]byte
	for {
		v := rand.Uint64()
		if v != 0 {
			for i := range id {
				id[i] = byte(v >> (8 * i))
			}
			return id
		}
	}
}

// End ends the component with err (nil for success). It is nil-safe; a
// second End is a no-op reported to the error handler as ErrComponentEnded.
//
// While work holds the component (see TraceService.Hold), End does not
// wait: the component ends, with err and End's time, when the last hold is
// released.
func (c *Component) End(err error) {
	if c == nil || c.isRun || c.run == nil {
		return
	}
	c.endBy(err, c.run.now())
}

// Log is one log record of a component or run, passed to AddLog. Message
// is snapshotted when AddLog is called, masked whole when Name is a
// masked key; Name and Type are masked and scrubbed as its strings are.
// The zero value is an empty log.
type Log struct {
	Name    string
	Message any
	Type    string
}

// AddLog records a log in the scope ctx carries: its innermost component, or
// the run itself when no component is open. The message is snapshotted
// before AddLog returns.
func (s *TraceService) AddLog(ctx context.Context, l Log) {
	if s.off() {
		return
	}
	sc := s.scope(ctx, opAddLog)
	if sc == nil {
		return
	}
	rs := sc.run
	e := sc.newLog()
	*e = LogEntry{RunID: rs.info.RunID, Time: rs.now()}
	var p pass
	rs.write(ctx, sc, sc.event(e, &e.ComponentID), &p, func() {
		p.name(&e.Name, l.Name)
		p.value(&e.Message, l.Name, l.Message)
		p.name(&e.Type, l.Type)
	})
}

// SetOutputs records outputs in the scope ctx carries: its innermost
// component, or the run itself. Outputs set twice are merged, later keys
// winning. The values are snapshotted before SetOutputs returns.
func (s *TraceService) SetOutputs(ctx context.Context, outputs map[string]any) {
	s.setFields(ctx, opSetOutputs, outputs, false)
}

// setFields records m as the outputs, or with asInputs the inputs, of the
// scope ctx carries: an Outputs record, or an Inputs (the same layout),
// its Fields allocated with it.
func (s *TraceService) setFields(ctx context.Context, op int, m map[string]any, asInputs bool) {
	if s.off() {
		return
	}
	sc := s.scope(ctx, op)
	if sc == nil {
		return
	}
	rs := sc.run
	o, kv := sc.newOutputs(len(m))
	*o = Outputs{RunID: rs.info.RunID, Time: rs.now()}
	var data record = o
	if asInputs {
		data = (*Inputs)(o)
	}
	var p pass
	rs.write(ctx, sc, sc.event(data, &o.ComponentID), &p, func() { p.fields(&o.Values, m, kv) })
}

// scope returns the scope of ctx to write through, counting a call of
// kind op without one (see noRun). It returns nil, silently, for an
// unsampled run.
func (s *TraceService) scope(ctx context.Context, op int) *Component {
	sc := scopeFromContext(ctx)
	if sc == nil {
		s.noRun(op)
		return nil
	}
	if !sc.run.sampled {
		return nil
	}
	return sc
}

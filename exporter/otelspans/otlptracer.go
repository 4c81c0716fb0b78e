package otelspans

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"google.golang.org/protobuf/encoding/protowire"
)

// The tracer of an exporter NewOTLP builds. It records spans as the
// OpenTelemetry SDK does with its default sampler (parent-based, always
// on; or the SDK's sampler OTEL_TRACES_SAMPLER names) and span limits, IDGenerator installed, and at End encodes each one
// into its batch (encode.go) for the sender (sender.go). No SDK span,
// snapshot or proto message is built on the way.

// Span limits, the SDK's defaults.
const (
	attrCountLimit     = 128
	eventCountLimit    = 128
	linkCountLimit     = 128
	attrPerEventLimit  = 128
	attrPerLinkLimit   = 128
	exceptionEventName = "exception"
)

// otlpProvider is the trace.TracerProvider of an exporter NewOTLP built:
// TracerProvider returns it. Spans of its tracers go to the exporter's
// backend, each under its tracer's instrumentation scope. It is safe for
// concurrent use.
type otlpProvider struct {
	embedded.TracerProvider
	q       *sender
	sampler sdktrace.Sampler // nil: parent-based, always on, decided inline

	mu      sync.Mutex
	tracers map[scopeKey]*otlpTracer
}

// scopeKey is an instrumentation scope, attributes included, as the
// SDK's provider keys its tracers.
type scopeKey struct {
	name, version, schemaURL string
	attrs                    attribute.Distinct
}

// defaultTracerName is the scope of Tracer(""), as the SDK names it.
const defaultTracerName = "go.opentelemetry.io/otel/sdk/tracer"

var _ trace.TracerProvider = (*otlpProvider)(nil)

// Tracer returns the tracer of an instrumentation scope, the same one for
// the same name, version, schema URL and attributes, as the SDK's
// provider does. An empty name is the SDK's default,
// "go.opentelemetry.io/otel/sdk/tracer". The schema URL is made valid
// UTF-8, as every string the exporter sends: a receiver refuses a whole
// request for one invalid string.
func (p *otlpProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	if name == "" {
		name = defaultTracerName
	}
	c := trace.NewTracerConfig(opts...)
	attrs := c.InstrumentationAttributes()
	k := scopeKey{name, c.InstrumentationVersion(), c.SchemaURL(), attrs.Equivalent()}
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.tracers[k]; ok {
		return t
	}
	t := &otlpTracer{p: p, scope: encodeScope(name, k.version, attrs.ToSlice()), schemaURL: validUTF8(k.schemaURL)}
	if p.tracers == nil {
		p.tracers = make(map[scopeKey]*otlpTracer)
	}
	p.tracers[k] = t
	return t
}

// ForceFlush sends every span ended before the call, and returns when the
// backend has answered for them (counted exported or failed) and the
// error handler has had their errors, or ctx is done.
func (p *otlpProvider) ForceFlush(ctx context.Context) error { return p.q.flush(ctx) }

// otlpTracer starts spans of one instrumentation scope.
type otlpTracer struct {
	embedded.Tracer
	p         *otlpProvider
	scope     []byte // the encoded InstrumentationScope
	schemaURL string
}

var _ trace.Tracer = (*otlpTracer)(nil)

// Start starts a span as the SDK's tracer does with IDGenerator: the IDs
// the ctx carries (contextWithIDs), else random ones; the trace of the
// parent in ctx, sampled unless that parent is not.
func (t *otlpTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if ctx == nil {
		ctx = context.Background()
	}
	cfg := trace.NewSpanStartConfig(opts...)
	var psc trace.SpanContext
	if !cfg.NewRoot() {
		psc = trace.SpanContextFromContext(ctx)
	}
	var tid trace.TraceID
	var sid trace.SpanID
	if !psc.TraceID().IsValid() {
		tid, sid = idGenerator{}.NewIDs(ctx)
	} else {
		tid = psc.TraceID()
		sid = idGenerator{}.NewSpanID(ctx, tid)
	}
	start := cfg.Timestamp()
	if start.IsZero() {
		start = time.Now()
	}
	span := t.begin(psc, tid, sid, name, cfg.SpanKind(), start, cfg.Attributes(), cfg.Links())
	return trace.ContextWithSpan(ctx, span), span
}

// StartAt starts a span as Start does from a ctx holding parent and, by
// contextWithIDs, traceID and spanID, with WithTimestamp(at),
// WithSpanKind(kind) and WithAttributes(attrs...) — without building the
// ctx or the options: the bridge's way to start a span of NewOTLP's
// tracer. attrs are copied; parent may be the zero SpanContext.
func (t *otlpTracer) StartAt(parent trace.SpanContext, traceID trace.TraceID, spanID trace.SpanID, name string, kind trace.SpanKind, at time.Time, attrs []attribute.KeyValue) trace.Span {
	if at.IsZero() {
		at = time.Now()
	}
	tid, sid := traceID, spanID
	switch {
	case !parent.TraceID().IsValid() && !(tid.IsValid() && sid.IsValid()):
		tid, sid = idGenerator{}.NewIDs(context.Background())
	case parent.TraceID().IsValid():
		tid = parent.TraceID()
		if !sid.IsValid() {
			sid = randomSpanID()
		}
	}
	return t.begin(parent, tid, sid, name, kind, at, attrs, nil)
}

// begin starts a span of parent psc: sampled unless its parent is not,
// as the SDK's default sampler decides.
func (t *otlpTracer) begin(psc trace.SpanContext, tid trace.TraceID, sid trace.SpanID, name string, kind trace.SpanKind, start time.Time, attrs []attribute.KeyValue, links []trace.Link) trace.Span {
	sampled, state := !psc.IsValid() || psc.IsSampled(), psc.TraceState()
	if sp := t.p.sampler; sp != nil { // OTEL_TRACES_SAMPLER: the SDK's sampler decides
		r := sp.ShouldSample(sdktrace.SamplingParameters{
			ParentContext: trace.ContextWithSpanContext(context.Background(), psc),
			TraceID:       tid, Name: name, Kind: kind, Attributes: attrs, Links: links,
		})
		sampled, state = r.Decision == sdktrace.RecordAndSample, r.Tracestate
	}
	flags := psc.TraceFlags() | trace.FlagsSampled
	if !sampled {
		flags = psc.TraceFlags() &^ trace.FlagsSampled
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags, TraceState: state})
	if !sampled {
		return &nonRecordingSpan{sc: sc, p: t.p}
	}
	rec := recordPool.Get().(*spanRecord)
	rec.parent, rec.name, rec.kind, rec.start = psc, name, trace.ValidateSpanKind(kind), start
	for _, l := range links {
		rec.addLink(l)
	}
	rec.setAttributes(attrs)
	return &otlpSpan{t: t, sc: sc, rec: rec}
}

// otlpSpan is a recording span of NewOTLP's tracer. Its record returns
// to a pool when it ends; after that its methods do nothing, as the
// SDK's do on an ended span. It is safe for concurrent use.
type otlpSpan struct {
	embedded.Span
	t  *otlpTracer
	sc trace.SpanContext

	mu  sync.Mutex
	rec *spanRecord // nil once ended
}

var _ trace.Span = (*otlpSpan)(nil)

// spanRecord is what a span records until it ends.
type spanRecord struct {
	parent       trace.SpanContext
	name         string
	kind         trace.SpanKind
	start, end   time.Time
	attrs        attrBuf
	droppedAttrs int
	events       []spanEvent
	droppedEvts  int
	links        []spanLink
	droppedLinks int
	arena        []attribute.KeyValue // the attributes of events and links
	status       codes.Code
	statusMsg    string
}

type spanEvent struct {
	name    string
	time    int64
	lo, hi  int // its attributes in arena
	dropped int
}

type spanLink struct {
	sc      trace.SpanContext
	lo, hi  int
	dropped int
}

var recordPool = sync.Pool{New: func() any { return new(spanRecord) }}

// release clears r and returns it to the pool, its slices kept.
func (r *spanRecord) release() {
	clear(r.arena)
	clear(r.events)
	clear(r.links)
	*r = spanRecord{attrs: r.attrs.reset(), events: r.events[:0], links: r.links[:0], arena: r.arena[:0]}
	recordPool.Put(r)
}

func (s *otlpSpan) SpanContext() trace.SpanContext {
	if s == nil {
		return trace.SpanContext{}
	}
	return s.sc
}

func (s *otlpSpan) IsRecording() bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec != nil
}

func (s *otlpSpan) TracerProvider() trace.TracerProvider { return s.t.p }

func (s *otlpSpan) SetName(name string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	if s.rec != nil {
		s.rec.name = name
	}
	s.mu.Unlock()
}

// SetStatus sets the status as the SDK does: Ok is final, Error's
// description is kept, Unset changes nothing.
func (s *otlpSpan) SetStatus(code codes.Code, description string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rec == nil || s.rec.status > code {
		return
	}
	s.rec.status, s.rec.statusMsg = code, ""
	if code == codes.Error {
		s.rec.statusMsg = description
	}
}

func (s *otlpSpan) SetAttributes(kv ...attribute.KeyValue) {
	if s == nil || len(kv) == 0 {
		return
	}
	s.mu.Lock()
	if s.rec != nil {
		s.rec.setAttributes(kv)
	}
	s.mu.Unlock()
}

func (s *otlpSpan) AddEvent(name string, opts ...trace.EventOption) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rec == nil {
		return
	}
	c := trace.NewEventConfig(opts...)
	s.rec.addEvent(name, c.Timestamp(), c.Attributes())
}

// AddEventAt adds an event as AddEvent(name, trace.WithTimestamp(at),
// trace.WithAttributes(attrs...)) does, without the options; attrs are
// copied.
func (s *otlpSpan) AddEventAt(name string, at time.Time, attrs []attribute.KeyValue) {
	if s == nil {
		return
	}
	s.mu.Lock()
	if s.rec != nil {
		s.rec.addEvent(name, at, attrs)
	}
	s.mu.Unlock()
}

func (s *otlpSpan) AddLink(l trace.Link) {
	if s == nil {
		return
	}
	s.mu.Lock()
	if s.rec != nil {
		s.rec.addLink(l)
	}
	s.mu.Unlock()
}

// RecordError adds an "exception" event with the error's type and
// message, and its stack with trace.WithStackTrace(true), as the SDK does.
func (s *otlpSpan) RecordError(err error, opts ...trace.EventOption) {
	if s == nil || err == nil || !s.IsRecording() {
		return
	}
	opts = append(opts, trace.WithAttributes(
		attribute.String("exception.type", typeStr(err)),
		attribute.String("exception.message", err.Error()),
	))
	if c := trace.NewEventConfig(opts...); c.StackTrace() {
		opts = append(opts, trace.WithAttributes(attribute.String("exception.stacktrace", stackTrace())))
	}
	s.AddEvent(exceptionEventName, opts...)
}

// stackTrace returns the calling goroutine's stack, as the SDK records
// it: at most 2 KiB.
func stackTrace() string {
	buf := make([]byte, 2048)
	return string(buf[:runtime.Stack(buf, false)])
}

func typeStr(i any) string {
	t := reflect.TypeOf(i)
	if t.PkgPath() == "" && t.Name() == "" {
		return t.String()
	}
	return fmt.Sprintf("%s.%s", t.PkgPath(), t.Name())
}

// End ends the span at the time its option gives (else now) and hands it
// to the exporter's queue, waiting while the queue is full. Calls after
// the first do nothing. Called (deferred) while its goroutine panics, it
// records an "exception" event of the panic, its stack too with
// trace.WithStackTrace(true), and the panic goes on, as the SDK's does.
func (s *otlpSpan) End(opts ...trace.SpanEndOption) {
	if s == nil {
		return
	}
	c := trace.NewSpanEndConfig(opts...)
	if s.IsRecording() {
		if recovered := recover(); recovered != nil {
			defer panic(recovered) // recorded, not stopped
			attrs := []attribute.KeyValue{
				attribute.String("exception.type", typeStr(recovered)),
				attribute.String("exception.message", fmt.Sprint(recovered)),
			}
			if c.StackTrace() {
				attrs = append(attrs, attribute.String("exception.stacktrace", stackTrace()))
			}
			s.AddEventAt(exceptionEventName, time.Now(), attrs)
		}
	}
	s.EndAt(c.Timestamp())
}

// EndAt ends the span as End(trace.WithTimestamp(at)) does, without the
// option; a zero at is now.
func (s *otlpSpan) EndAt(at time.Time) {
	if s == nil {
		return
	}
	s.mu.Lock()
	rec := s.rec
	s.rec = nil
	s.mu.Unlock()
	if rec == nil {
		return
	}
	rec.end = at
	if rec.end.IsZero() {
		rec.end = rec.start.Add(time.Since(rec.start))
	}
	s.t.p.q.enqueue(s.t, &s.sc, rec)
	rec.release()
}

// setAttributes adds kv as the SDK does: a key set again keeps its place
// and takes the last value; a new key beyond the limit is dropped,
// counted. The SDK appends while under the limit and removes duplicates
// when over it and at End; removing them as they come keeps the same
// attributes, in the same order, and drops the same ones.
func (r *spanRecord) setAttributes(kv []attribute.KeyValue) {
	r.attrs.grow(kv)
	for i := range kv {
		if !kv[i].Valid() {
			r.droppedAttrs++
			continue
		}
		if !r.attrs.set(&kv[i], attrCountLimit) {
			r.droppedAttrs++
		}
	}
}

// attrValueDepthLimit is the SDK's default AttributeValueDepthLimit: a
// value nested deeper is replaced by an empty one.
const attrValueDepthLimit = 64

// normAttr normalises a SLICE or MAP value as the SDK (v1.47) does: a
// map's duplicate keys removed (the last value kept), and a value nested
// deeper than attrValueDepthLimit replaced by an empty one. This also
// bounds the encoder's recursion. Other values are returned as they are.
func normAttr(a attribute.KeyValue) attribute.KeyValue {
	switch a.Value.Type() {
	case attribute.SLICE, attribute.MAP:
		if v, changed := normValue(a.Value, attrValueDepthLimit); changed {
			a.Value = v
		}
	}
	return a
}

// normAttrs normalises kv in place.
func normAttrs(kv []attribute.KeyValue) {
	for i := range kv {
		kv[i] = normAttr(kv[i])
	}
}

// normValue normalises v with depth levels of nesting left, and says
// whether it changed anything.
func normValue(v attribute.Value, depth int) (attribute.Value, bool) {
	switch v.Type() {
	case attribute.BOOLSLICE, attribute.INT64SLICE, attribute.FLOAT64SLICE, attribute.STRINGSLICE, attribute.BYTESLICE:
		if depth == 0 {
			return attribute.Value{}, true
		}
	case attribute.SLICE:
		if depth == 0 {
			return attribute.Value{}, true
		}
		elems := v.AsSlice() // a copy
		changed := false
		for i := range elems {
			if nv, c := normValue(elems[i], depth-1); c {
				elems[i], changed = nv, true
			}
		}
		if changed {
			return attribute.SliceValue(elems...), true
		}
	case attribute.MAP:
		if depth == 0 {
			return attribute.Value{}, true
		}
		kvs := v.AsMap() // a copy, sorted by key: duplicates are adjacent
		out := kvs[:0]
		changed := false
		for i := 0; i < len(kvs); {
			j := i + 1
			for j < len(kvs) && kvs[j].Key == kvs[i].Key {
				j++
			}
			kv := kvs[j-1] // the last value of the key
			if j-i > 1 {
				changed = true
			}
			if nv, c := normValue(kv.Value, depth-1); c {
				kv.Value, changed = nv, true
			}
			out = append(out, kv)
			i = j
		}
		if changed {
			return attribute.MapValue(out...), true
		}
	}
	return v, false
}

// addEvent adds an event, the oldest dropped beyond the limit, as the
// SDK's queue of events does; its attributes beyond theirs are dropped,
// counted.
//
// The arena holds the attributes of the events and links kept, and no
// more: only the first attrPerEventLimit of an event's are copied, and a
// dropped event's are cut out, so an open span's memory is bounded by the
// limits however many events it is given.
func (r *spanRecord) addEvent(name string, at time.Time, kv []attribute.KeyValue) {
	if len(r.events) >= eventCountLimit {
		r.cut(r.events[0].lo, r.events[0].hi)
		copy(r.events, r.events[1:])
		r.events = r.events[:len(r.events)-1]
		r.droppedEvts++
	}
	n := min(len(kv), attrPerEventLimit)
	lo := len(r.arena)
	r.arena = append(r.arena, kv[:n]...) // duplicates kept, as the SDK does
	normAttrs(r.arena[lo:])
	r.events = append(r.events, spanEvent{name: name, time: at.UnixNano(), lo: lo, hi: len(r.arena), dropped: len(kv) - n})
}

// cut removes arena[lo:hi], the attributes of an event or link dropped,
// moving those after them down.
func (r *spanRecord) cut(lo, hi int) {
	n := hi - lo
	if n == 0 {
		return
	}
	copy(r.arena[lo:], r.arena[hi:])
	clear(r.arena[len(r.arena)-n:])
	r.arena = r.arena[:len(r.arena)-n]
	for i := range r.events {
		if r.events[i].lo >= hi {
			r.events[i].lo -= n
			r.events[i].hi -= n
		}
	}
	for i := range r.links {
		if r.links[i].lo >= hi {
			r.links[i].lo -= n
			r.links[i].hi -= n
		}
	}
}

func (r *spanRecord) addLink(l trace.Link) {
	if !l.SpanContext.IsValid() && len(l.Attributes) == 0 && l.SpanContext.TraceState().Len() == 0 {
		return
	}
	if len(r.links) >= linkCountLimit {
		r.cut(r.links[0].lo, r.links[0].hi)
		copy(r.links, r.links[1:])
		r.links = r.links[:len(r.links)-1]
		r.droppedLinks++
	}
	n := min(len(l.Attributes), attrPerLinkLimit)
	lo := len(r.arena)
	r.arena = append(r.arena, l.Attributes[:n]...)
	normAttrs(r.arena[lo:])
	r.links = append(r.links, spanLink{sc: l.SpanContext, lo: lo, hi: len(r.arena), dropped: len(l.Attributes) - n})
}

// spanFlags returns the OTLP flags of a span or link: its W3C flags, and
// whether its parent (or the linked span) is remote.
func spanFlags(tf trace.TraceFlags, parent *trace.SpanContext) uint32 {
	f := uint32(tf) | flagHasIsRemote
	if parent.IsRemote() {
		f |= flagIsRemote
	}
	return f
}

// appendSpan appends a span that ended as message field num.
func appendSpan(b []byte, num protowire.Number, sc *trace.SpanContext, r *spanRecord) []byte {
	b, at := beginMsg(b, num)
	tid, sid := sc.TraceID(), sc.SpanID()
	b = appendBytes(b, fSpanTraceID, tid[:])
	b = appendBytes(b, fSpanSpanID, sid[:])
	b = appendOptString(b, fSpanTraceState, sc.TraceState().String())
	if psid := r.parent.SpanID(); psid.IsValid() {
		b = appendBytes(b, fSpanParentSpanID, psid[:])
	}
	b = appendOptString(b, fSpanName, validUTF8(r.name))
	b = appendVarintField(b, fSpanKind, uint64(r.kind))
	b = appendFixed64Field(b, fSpanStart, unixNano(r.start.UnixNano()))
	b = appendFixed64Field(b, fSpanEnd, unixNano(r.end.UnixNano()))
	b = r.attrs.appendTo(b)
	b = appendVarintField(b, fSpanDroppedAttrs, uint64(r.droppedAttrs))
	for i := range r.events {
		e := &r.events[i]
		var eat int
		b, eat = beginMsg(b, fSpanEvents)
		b = appendFixed64Field(b, fEventTime, unixNano(e.time))
		b = appendOptString(b, fEventName, validUTF8(e.name))
		b = appendKeyValues(b, fEventAttrs, r.arena[e.lo:e.hi])
		b = appendVarintField(b, fEventDropped, uint64(e.dropped))
		b = endMsg(b, eat)
	}
	b = appendVarintField(b, fSpanDroppedEvts, uint64(r.droppedEvts))
	for i := range r.links {
		l := &r.links[i]
		var lat int
		b, lat = beginMsg(b, fSpanLinks)
		ltid, lsid := l.sc.TraceID(), l.sc.SpanID()
		b = appendBytes(b, fLinkTraceID, ltid[:])
		b = appendBytes(b, fLinkSpanID, lsid[:])
		b = appendKeyValues(b, fLinkAttrs, r.arena[l.lo:l.hi])
		b = appendVarintField(b, fLinkDropped, uint64(l.dropped))
		b = protowire.AppendTag(b, fLinkFlags, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, spanFlags(l.sc.TraceFlags(), &l.sc))
		b = endMsg(b, lat)
	}
	b = appendVarintField(b, fSpanDroppedLinks, uint64(r.droppedLinks))
	msg := validUTF8(r.statusMsg)
	code := otlpStatus(r.status)
	b = appendLen(b, fSpanStatus, varintFieldSizeOf(fStatusCode, code)+optStringSize(fStatusMessage, msg))
	b = appendVarintField(b, fStatusCode, code)
	b = appendOptString(b, fStatusMessage, msg)
	b = protowire.AppendTag(b, fSpanFlags, protowire.Fixed32Type)
	b = protowire.AppendFixed32(b, spanFlags(sc.TraceFlags(), &r.parent))
	return endMsg(b, at)
}

// nonRecordingSpan is a span of a trace its parent did not sample: it
// carries its context to children and records nothing.
type nonRecordingSpan struct {
	embedded.Span
	sc trace.SpanContext
	p  *otlpProvider
}

func (s *nonRecordingSpan) SpanContext() trace.SpanContext        { return s.sc }
func (*nonRecordingSpan) IsRecording() bool                       { return false }
func (*nonRecordingSpan) SetStatus(codes.Code, string)            {}
func (*nonRecordingSpan) SetAttributes(...attribute.KeyValue)     {}
func (*nonRecordingSpan) End(...trace.SpanEndOption)              {}
func (*nonRecordingSpan) RecordError(error, ...trace.EventOption) {}
func (*nonRecordingSpan) AddEvent(string, ...trace.EventOption)   {}
func (*nonRecordingSpan) AddLink(trace.Link)                      {}
func (*nonRecordingSpan) SetName(string)                          {}
func (s *nonRecordingSpan) TracerProvider() trace.TracerProvider  { return s.p }

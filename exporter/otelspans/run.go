package otelspans

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowtrace/flowtrace"
)

// runExporter holds one run's open spans. flowtrace calls it from one
// goroutine at a time, so it needs no lock.
type runExporter struct {
	e        *Exporter
	info     flowtrace.RunStart
	span     trace.Span
	identity []attribute.KeyValue // written first on every span of the run
	outputs  outputs              // the run's outputs
	inputs   map[string]any       // nil, or the run's inputs merged with those set after its start
	open     map[string]*openSpan // by component ID
	ctx      context.Context      // the run's span as the current span, made when a component first needs it
	free     []*openSpan          // of ended components, reused: a run's records are its own
	// Reused for each call's attributes and options: the SDK copies
	// attributes and reads options during the call, and a variadic
	// argument passed to an interface method is otherwise allocated.
	scratch   []attribute.KeyValue
	startOpts []trace.SpanStartOption
	eventOpts []trace.EventOption
	endOpts   []trace.SpanEndOption
	json      jsonBuf
	root      *trace.SpanContext // in links.roots while the run is open, if it is a root
	http      bool               // a server span: the run of an HTTP request
}

type openSpan struct {
	span    trace.Span
	ctx     context.Context // span as the current span, made when a child first needs it
	id      [8]byte         // flowtrace's span ID
	tool    bool
	op      string           // its GenAI operation, or ""
	http    bool             // a client span: an outgoing HTTP request
	start   flowtrace.Fields // the start's inputs
	inputs  map[string]any   // nil, or start merged with the inputs set after it
	outputs outputs
}

func (e *Exporter) startRun(run flowtrace.RunStart) *runExporter {
	r := &runExporter{e: e, info: run, open: make(map[string]*openSpan)}
	r.identity = e.identity(run)

	parent := e.links.runParent(run)
	attrs := make([]attribute.KeyValue, 0, len(r.identity)+8)
	attrs = append(attrs, r.identity...)
	attrs = append(attrs, attribute.String(KeyRunName, run.RunName))
	if run.ProjectName != "" {
		attrs = append(attrs, attribute.String(KeyProjectName, run.ProjectName))
	}
	if run.ParentRunID != "" {
		attrs = append(attrs, attribute.String(KeyParentRunID, run.ParentRunID))
	}
	if run.Resumed {
		attrs = append(attrs, attribute.String(KeyRunStatus, StatusResumed))
	}
	if e.cfg.conventions&OpenInference != 0 {
		attrs = append(attrs, attribute.String(KeyOISpanKind, "CHAIN"))
		attrs = e.appendOIInputIn(&r.json, attrs, run.Inputs)
		attrs = r.json.appendFields(attrs, KeyOIMetadata, run.Metadata)
		if len(run.Tags) > 0 {
			attrs = append(attrs, attribute.StringSlice(KeyOITags, run.Tags))
		}
	} else {
		attrs = r.json.appendFields(attrs, KeyInputs, run.Inputs)
		attrs = r.json.appendFields(attrs, KeyMetadata, run.Metadata)
	}
	if len(run.Tags) > 0 && e.cfg.conventions&OpenInference == 0 {
		attrs = append(attrs, attribute.StringSlice(KeyOITags, run.Tags))
	}

	kind := trace.SpanKindInternal
	if isHTTP(run.Metadata) {
		kind, r.http = trace.SpanKindServer, true
		attrs = appendHTTP(attrs, run.Metadata, httpStartKeys[:])
	}
	attrs = appendHTTP(attrs, run.Metadata, mcpKeys[:])
	name := run.RunName
	// A run is a workflow to GenAI, unless it serves a request (HTTP or
	// MCP) that names its operation itself.
	_, mcp := run.Metadata.Get(KeyMCPMethodName)
	_, op := run.Metadata.Get(KeyGenAIOperationName)
	if e.cfg.conventions&GenAI != 0 && !r.http && !mcp && !op {
		attrs = append(attrs, attribute.String(KeyGenAIOperationName, opInvokeWorkflow))
		attrs = appendStr(attrs, KeyGenAIWorkflowName, run.RunName)
		if e.cfg.conventions == GenAI {
			name = opInvokeWorkflow + suffix(run.RunName)
		}
	}
	if name == "" {
		name = "run"
	}
	if ot, ok := e.tracer.(*otlpTracer); ok { // NewOTLP's: no ctx, no options to build
		r.span = ot.StartAt(trace.SpanContextFromContext(parent), run.TraceID, run.SpanID, name, kind, run.Time, attrs)
	} else {
		ctx := contextWithIDs(parent, run.TraceID, run.SpanID)
		_, r.span = e.tracer.Start(ctx, name,
			trace.WithTimestamp(run.Time), trace.WithAttributes(attrs...), trace.WithSpanKind(kind))
	}
	e.links.started(run.SpanID, r.span)
	if isRoot(run) {
		sc := r.span.SpanContext()
		r.root = &sc
		e.links.roots.Store(run.TraceID, r.root)
	}
	return r
}

// identity returns the attributes that name a run's identity. OpenTelemetry
// attributes are not inherited, and backends filter spans by them, so they
// go on every span, first, where span limits never drop them.
func (e *Exporter) identity(run flowtrace.RunStart) []attribute.KeyValue {
	kv := []attribute.KeyValue{attribute.String(KeyRunID, run.RunID)}
	if run.SessionID != "" {
		kv = append(kv, attribute.String(KeySessionID, run.SessionID))
		if e.cfg.conventions&GenAI != 0 {
			kv = append(kv, attribute.String(KeyGenAIConversationID, run.SessionID))
		}
	}
	if run.UserID != "" {
		kv = append(kv, attribute.String(KeyUserID, run.UserID))
	}
	return kv
}

func (r *runExporter) StartComponent(_ context.Context, c flowtrace.ComponentStart) error {
	var parent context.Context
	if p, ok := r.open[c.ParentID]; ok {
		if p.ctx == nil {
			p.ctx = trace.ContextWithSpan(context.Background(), p.span)
		}
		parent = p.ctx
	} else if c.ParentID == "" {
		if r.ctx == nil {
			r.ctx = trace.ContextWithSpan(context.Background(), r.span)
		}
		parent = r.ctx
	} else {
		parent = r.e.links.orphanParent(r, c)
	}
	conv := r.e.cfg.conventions
	attrs := append(r.scratch[:0], r.identity...)
	attrs = append(attrs, attribute.String(KeyComponentID, c.ComponentID))
	if c.Type != "" {
		attrs = append(attrs, attribute.String(KeyComponentType, c.Type))
	}
	if conv&OpenInference != 0 {
		attrs = append(attrs, attribute.String(KeyOISpanKind, openInferenceKind(c.Type)))
		attrs = r.e.appendOIInputIn(&r.json, attrs, c.Inputs)
		attrs = r.json.appendFields(attrs, KeyOIMetadata, c.Metadata)
	} else {
		attrs = r.json.appendFields(attrs, KeyInputs, c.Inputs)
		attrs = r.json.appendFields(attrs, KeyMetadata, c.Metadata)
	}
	// The MCP keys of the metadata are attributes of their own; a
	// metadata's operation and tool name win over the ones of its type.
	attrs = appendHTTP(attrs, c.Metadata, mcpKeys[:])
	op, opSet := mdString(c.Metadata, KeyGenAIOperationName)
	if !opSet {
		op = genAIOperation(c.Type)
	}
	name := c.Name
	if conv&GenAI != 0 {
		if !opSet && op != "" {
			attrs = append(attrs, attribute.String(KeyGenAIOperationName, op))
		}
		switch c.Type {
		case "tool":
			tool, toolSet := mdString(c.Metadata, KeyGenAIToolName)
			if !toolSet {
				tool = c.Name
				attrs = append(attrs, attribute.String(KeyGenAIToolName, tool))
			}
			attrs = r.json.appendFields(attrs, KeyGenAIToolArguments, c.Inputs)
			if conv == GenAI {
				name = genAIOperationExecTool + suffix(tool)
			}
		case "agent":
			attrs = append(attrs, attribute.String(KeyGenAIAgentName, c.Name))
			if conv == GenAI {
				name = "invoke_agent" + suffix(c.Name)
			}
		}
	}
	kind := trace.SpanKindInternal
	web := isHTTP(c.Metadata)
	if web {
		kind = trace.SpanKindClient
		attrs = appendHTTP(attrs, c.Metadata, httpStartKeys[:])
	}
	if name == "" {
		name = "component"
	}
	var span trace.Span
	if ot, ok := r.e.tracer.(*otlpTracer); ok {
		span = ot.StartAt(trace.SpanContextFromContext(parent), r.info.TraceID, c.SpanID, name, kind, c.Time, attrs)
	} else {
		ctx := contextWithIDs(parent, r.info.TraceID, c.SpanID)
		opts := append(r.startOpts[:0], trace.WithTimestamp(c.Time), trace.WithAttributes(attrs...), spanKind(kind))
		_, span = r.e.tracer.Start(ctx, name, opts...)
		r.startOpts = opts
	}
	r.scratch = attrs
	r.e.links.started(c.SpanID, span)
	p := r.newOpenSpan()
	*p = openSpan{span: span, id: c.SpanID, tool: c.Type == "tool", op: op, http: web, start: c.Inputs}
	r.open[c.ComponentID] = p
	return nil
}

// newOpenSpan returns the record of an ended component of the run, or a
// new one. A record is reached only through r.open, which forgets it when
// its component ends.
func (r *runExporter) newOpenSpan() *openSpan {
	if n := len(r.free); n > 0 {
		p := r.free[n-1]
		r.free[n-1] = nil
		r.free = r.free[:n-1]
		return p
	}
	return new(openSpan)
}

// spanKinds are the options of each span kind, boxed once.
var spanKinds = [...]trace.SpanStartOption{
	trace.SpanKindInternal: trace.WithSpanKind(trace.SpanKindInternal),
	trace.SpanKindServer:   trace.WithSpanKind(trace.SpanKindServer),
	trace.SpanKindClient:   trace.WithSpanKind(trace.SpanKindClient),
}

func spanKind(k trace.SpanKind) trace.SpanStartOption {
	if int(k) < len(spanKinds) && spanKinds[k] != nil {
		return spanKinds[k]
	}
	return trace.WithSpanKind(k)
}

func (r *runExporter) AddLog(_ context.Context, l flowtrace.LogEntry) error {
	span := r.span
	if p, ok := r.open[l.ComponentID]; ok {
		span = p.span
	}
	name := l.Name
	if name == "" {
		name = "log"
	}
	attrs := r.scratch[:0]
	if s, ok := l.Message.(string); ok {
		attrs = append(attrs, attribute.String(KeyLogMessage, s))
	} else if l.Message != nil {
		attrs = r.json.appendJSON(attrs, KeyLogMessage, l.Message)
	}
	if l.Type != "" {
		attrs = append(attrs, attribute.String(KeyLogType, l.Type))
	}
	if os, ok := span.(*otlpSpan); ok {
		os.AddEventAt(name, l.Time, attrs)
	} else {
		opts := append(r.eventOpts[:0], trace.WithTimestamp(l.Time), trace.WithAttributes(attrs...))
		span.AddEvent(name, opts...)
		r.eventOpts = opts
	}
	r.scratch = attrs
	return nil
}

func (r *runExporter) SetOutputs(_ context.Context, o flowtrace.Outputs) error {
	if o.ComponentID == "" {
		r.outputs.add(o.Values)
		return nil
	}
	if p, ok := r.open[o.ComponentID]; ok {
		p.outputs.add(o.Values)
	}
	return nil
}

// merge adds src to dst, later keys winning. Records are shared and must
// not be modified, so dst is always the exporter's own map.
func merge(dst map[string]any, src flowtrace.Fields) map[string]any {
	if src.Len() == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string]any, src.Len())
	}
	for k, v := range src.All() {
		dst[k] = v
	}
	return dst
}

func (r *runExporter) EndComponent(_ context.Context, c flowtrace.ComponentEnd) error {
	p, ok := r.open[c.ComponentID]
	if !ok {
		return nil
	}
	delete(r.open, c.ComponentID)
	r.e.links.ended(p.id)
	out := p.outputs.jsonIn(&r.json)
	attrs := r.scratch[:0]
	if p.tool && r.e.cfg.conventions&GenAI != 0 && out != "" {
		attrs = append(attrs, attribute.String(KeyGenAIToolResult, out))
	}
	if c.Suspended {
		attrs = append(attrs, attribute.String(KeyComponentStatus, StatusSuspended))
	}
	if p.http {
		attrs = appendHTTPEnd(attrs, &p.outputs, c.Err)
	}
	r.finish(p.span, attrs, p.inputs, out, c.Err, c.Time)
	*p = openSpan{}
	r.free = append(r.free, p)
	return nil
}

func (r *runExporter) EndRun(_ context.Context, end flowtrace.RunEnd) error {
	// Components whose end was dropped close with the run, marked.
	for id, p := range r.open {
		attrs := append(r.scratch[:0], attribute.Bool(KeyEndNotDelivered, true))
		r.finish(p.span, attrs, p.inputs, p.outputs.jsonIn(&r.json), nil, end.Time)
		r.e.links.ended(p.id)
		delete(r.open, id)
	}
	r.outputs.add(end.Outputs)
	attrs := r.scratch[:0]
	if end.Suspended {
		attrs = append(attrs, attribute.String(KeyRunStatus, StatusSuspended))
	}
	if r.http {
		attrs = appendHTTPEnd(attrs, &r.outputs, end.Err)
	}
	r.finish(r.span, attrs, r.inputs, r.outputs.jsonIn(&r.json), end.Err, end.Time)
	r.e.links.ended(r.info.SpanID)
	if r.root != nil {
		r.e.links.roots.CompareAndDelete(r.info.TraceID, r.root)
	}
	return nil
}

// finish writes a span's last attributes (attrs, in r.scratch, then its
// inputs set after the start and its outputs) and its error, and ends it
// at the time recorded on the caller's goroutine.
func (r *runExporter) finish(span trace.Span, attrs []attribute.KeyValue, inputs map[string]any, outputs string, err error, end time.Time) {
	pv := &r.e.cfg.privacy
	if len(inputs) > 0 { // set after the start: the value written then is replaced
		switch {
		case r.e.cfg.conventions&OpenInference == 0:
			attrs = append(attrs, attribute.String(KeyInputs, r.json.value(inputs)))
		case pv.hideInputs:
			attrs = append(attrs, attribute.String(KeyOIInputValue, Redacted))
		default:
			attrs = append(attrs, attribute.String(KeyOIInputValue, r.json.value(inputs)), attribute.String(KeyOIInputMimeType, mimeJSON))
		}
	}
	if outputs != "" {
		switch {
		case r.e.cfg.conventions&OpenInference == 0:
			attrs = append(attrs, attribute.String(KeyOutputs, outputs))
		case pv.hideOutputs:
			attrs = append(attrs, attribute.String(KeyOIOutputValue, Redacted))
		default:
			attrs = append(attrs, attribute.String(KeyOIOutputValue, outputs), attribute.String(KeyOIOutputMimeType, mimeJSON))
		}
	}
	if len(attrs) > 0 {
		span.SetAttributes(attrs...)
	}
	at := trace.WithTimestamp(end)
	if err != nil {
		msg := err.Error() // already masked and limited when recorded
		span.SetStatus(codes.Error, msg)
		attrs = append(attrs[:0], attribute.String(KeyExceptionMsg, msg))
		span.AddEvent("exception", at, trace.WithAttributes(attrs...))
	}
	r.scratch = attrs
	if os, ok := span.(*otlpSpan); ok {
		os.EndAt(end)
		return
	}
	opts := append(r.endOpts[:0], at)
	span.End(opts...)
	r.endOpts = opts
}

// isHTTP reports whether a start's metadata describe an HTTP request:
// tracing.Middleware's runs and tracing.Transport's client components
// record its method.
func isHTTP(md flowtrace.Fields) bool {
	_, ok := md.Get(KeyHTTPRequestMethod)
	return ok
}

// appendHTTP appends, as attributes of their own, the values of keys that
// f holds as a string or an integer.
func appendHTTP(attrs []attribute.KeyValue, f flowtrace.Fields, keys []string) []attribute.KeyValue {
	for _, k := range keys {
		switch v, _ := f.Get(k); v := v.(type) {
		case string:
			attrs = append(attrs, attribute.String(k, v))
		case int64:
			attrs = append(attrs, attribute.Int64(k, v))
		case int:
			attrs = append(attrs, attribute.Int(k, v))
		}
	}
	return attrs
}

// appendHTTPEnd appends the attributes an HTTP span knows at its end:
// route, status code, and error.type when it failed.
func appendHTTPEnd(attrs []attribute.KeyValue, o *outputs, err error) []attribute.KeyValue {
	f := o.one
	if o.merged != nil {
		f = flowtrace.FieldsOf(o.merged)
	}
	attrs = appendHTTP(attrs, f, httpEndKeys[:])
	if _, ok := f.Get(KeyErrorType); !ok && err != nil {
		attrs = append(attrs, attribute.String(KeyErrorType, errorTypeOther))
	}
	return attrs
}

// appendOIInput writes a start's inputs as input.value, or Redacted (and no
// mime type) when OPENINFERENCE_HIDE_INPUTS says so.
func (e *Exporter) appendOIInput(attrs []attribute.KeyValue, in flowtrace.Fields) []attribute.KeyValue {
	return e.appendOIInputIn(nil, attrs, in)
}

// appendOIInputIn is appendOIInput encoding in j.
func (e *Exporter) appendOIInputIn(j *jsonBuf, attrs []attribute.KeyValue, in flowtrace.Fields) []attribute.KeyValue {
	switch {
	case in.Len() == 0:
		return attrs
	case e.cfg.privacy.hideInputs:
		return append(attrs, attribute.String(KeyOIInputValue, Redacted))
	}
	attrs = j.appendFields(attrs, KeyOIInputValue, in)
	return append(attrs, attribute.String(KeyOIInputMimeType, mimeJSON))
}

// mdString returns the string f holds under key; set reports whether it
// holds a non-empty one.
func mdString(f flowtrace.Fields, key string) (v string, set bool) {
	x, _ := f.Get(key)
	v, _ = x.(string)
	return v, v != ""
}

// suffix returns " "+s, or "" for an empty s: a GenAI span name without
// its target is the operation alone.
func suffix(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}

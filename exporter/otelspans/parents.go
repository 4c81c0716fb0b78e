package otelspans

import (
	"context"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/trace"

	"github.com/flowtrace/flowtrace"
)

// Whose span IDs the provider uses, learnt from the first span started.
const (
	idsUnknown int32 = iota
	idsOurs          // IDGenerator is installed: SDK IDs are flowtrace's
	idsSDK           // the provider picks its own IDs
)

// links resolves what a run's span needs from outside the run: the span
// of the component that started a nested run, and the sampling decision
// of the trace it joins. Each run's own tree needs none of it (a run
// parents through its own spans).
type links struct {
	ids atomic.Int32
	// roots maps the trace ID of each open root run (one with no parent
	// in this process) to its span's context, for the provider's sampling
	// decision of the whole trace.
	roots sync.Map // [16]byte → *trace.SpanContext
	// spans maps flowtrace span IDs to the SDK's, only while the provider
	// picks its own IDs: then a nested run finds its parent here.
	spans sync.Map // [8]byte → trace.SpanContext
}

// started records the span the bridge started for flowtrace span id.
func (l *links) started(id [8]byte, span trace.Span) {
	sc := span.SpanContext()
	switch l.ids.Load() {
	case idsUnknown:
		if !sc.IsValid() {
			return // a no-op provider: nothing to learn, nothing to link
		}
		if sc.SpanID() == trace.SpanID(id) {
			l.ids.Store(idsOurs)
			return
		}
		l.ids.Store(idsSDK)
		l.spans.Store(id, sc)
	case idsSDK:
		l.spans.Store(id, sc)
	}
}

// ended forgets the span of flowtrace span id.
func (l *links) ended(id [8]byte) {
	if l.ids.Load() == idsSDK {
		l.spans.Delete(id)
	}
}

// flags returns the sampling flags of the trace of a run nested in another
// run of this process: the root run's, as the provider decided them.
func (l *links) flags(traceID [16]byte) trace.TraceFlags {
	if sc, ok := l.roots.Load(traceID); ok {
		return sc.(*trace.SpanContext).TraceFlags()
	}
	return trace.FlagsSampled // its root has ended: flowtrace sampled it
}

// runParent returns the ctx a run's span starts from.
func (l *links) runParent(run flowtrace.RunStart) context.Context {
	bg := context.Background()
	switch {
	case run.ParentSpanID == [8]byte{}:
		return bg
	case run.ParentRemote:
		// flowtrace records a run under a remote caller only when the
		// caller sampled it.
		return trace.ContextWithRemoteSpanContext(bg, trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: run.TraceID, SpanID: run.ParentSpanID, TraceFlags: trace.FlagsSampled, Remote: true,
		}))
	}
	// Nested in a run of this process. Its parent is named by IDs, never
	// looked up in the other run, whose events may not have reached this
	// exporter yet — unless the provider picks its own IDs, when the
	// flowtrace IDs would name a span the trace does not have.
	if l.ids.Load() == idsSDK {
		if sc, ok := l.spans.Load(run.ParentSpanID); ok {
			return trace.ContextWithSpanContext(bg, sc.(trace.SpanContext))
		}
		if sc, ok := l.roots.Load(run.TraceID); ok {
			return trace.ContextWithSpanContext(bg, *sc.(*trace.SpanContext))
		}
	}
	return trace.ContextWithSpanContext(bg, trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: run.TraceID, SpanID: run.ParentSpanID, TraceFlags: l.flags(run.TraceID),
	}))
}

// orphanParent returns the ctx for a component whose parent's start never
// reached this exporter (dropped on a full queue).
func (l *links) orphanParent(r *runExporter, c flowtrace.ComponentStart) context.Context {
	bg := context.Background()
	if l.ids.Load() == idsSDK {
		if sc, ok := l.spans.Load(c.ParentSpanID); ok {
			return trace.ContextWithSpanContext(bg, sc.(trace.SpanContext))
		}
		return trace.ContextWithSpan(bg, r.span)
	}
	return trace.ContextWithSpanContext(bg, trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: r.info.TraceID, SpanID: c.ParentSpanID, TraceFlags: r.span.SpanContext().TraceFlags(),
	}))
}

// isRoot reports whether run has no parent in this process.
func isRoot(run flowtrace.RunStart) bool {
	return run.ParentSpanID == [8]byte{} || run.ParentRemote
}

// SpanContext returns, as an OpenTelemetry SpanContext, the span flowtrace
// considers current in ctx: the innermost component's, or the run's own;
// the zero SpanContext when ctx carries no run. Put it in a ctx with
// trace.ContextWithSpanContext so that spans of other OpenTelemetry
// instrumentation (an HTTP client, a database driver) started from that
// ctx become children of the flowtrace component — which holds in the
// exported trace when the provider uses IDGenerator.
func SpanContext(ctx context.Context) trace.SpanContext {
	rc, ok := flowtrace.RunFromContext(ctx)
	if !ok {
		return trace.SpanContext{}
	}
	span := rc.SpanID()
	if cc, ok := flowtrace.ComponentFromContext(ctx); ok {
		span = cc.SpanID()
	}
	var flags trace.TraceFlags
	if rc.Sampled() {
		flags = trace.FlagsSampled
	}
	flags = flags.WithRandom(rc.Random())
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: rc.TraceID(), SpanID: span, TraceFlags: flags, TraceState: rc.TraceState()})
}

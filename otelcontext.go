package flowtrace

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// OpenTelemetry reads the current span from a ctx with a key of its own,
// unexported. A scope's ctx answers that key with itself, as a
// non-recording span whose SpanContext is the scope's: so a span that any
// OpenTelemetry instrumentation starts in a flowtrace ctx is a child of
// the component (or run), without the caller copying anything into the
// ctx, and without an allocation — the span is the scopeCtx the Component
// already holds.

// otelSpanKey is the key trace.SpanFromContext looks up, learnt once by
// asking a ctx that records the key it is asked for.
var otelSpanKey = func() any {
	var p keyProbe
	trace.SpanFromContext(&p)
	return p.key
}()

// keyProbe is a ctx that records the last key it was asked for.
type keyProbe struct {
	context.Context
	key any
}

func (p *keyProbe) Value(key any) any {
	p.key = key
	return nil
}

// A *scopeCtx is the scope seen as an OpenTelemetry span: it records
// nothing (flowtrace records through its own calls), and only its
// SpanContext matters.
var _ trace.Span = (*scopeCtx)(nil)

// SpanContext returns the scope's span context: the run's trace ID and
// trace state, the span ID of the innermost component (or the run's own,
// in a run's ctx or under a refused start), sampled as the run is, and
// the W3C Level 2 random flag when the run's trace ID is random (see
// RunContext.Random).
func (s *scopeCtx) SpanContext() trace.SpanContext {
	c := s.c
	rs := c.run
	span := c.info().SpanID
	if c.isRun || c.skipped {
		span = rs.info.SpanID
	}
	var flags trace.TraceFlags
	if rs.sampled {
		flags = trace.FlagsSampled
	}
	if rs.random {
		flags |= trace.FlagsRandom
	}
	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    rs.info.TraceID,
		SpanID:     span,
		TraceFlags: flags,
		TraceState: rs.tracestate(),
	})
}

// IsRecording reports false: OpenTelemetry's calls on the span do nothing.
func (*scopeCtx) IsRecording() bool { return false }

// End does nothing: a scope ends through flowtrace (Component.End,
// EndTracers).
func (*scopeCtx) End(...trace.SpanEndOption) {}

// AddEvent does nothing; record through AddLog.
func (*scopeCtx) AddEvent(string, ...trace.EventOption) {}

// AddLink does nothing.
func (*scopeCtx) AddLink(trace.Link) {}

// RecordError does nothing; a scope's error is the one it ends with.
func (*scopeCtx) RecordError(error, ...trace.EventOption) {}

// SetStatus does nothing.
func (*scopeCtx) SetStatus(codes.Code, string) {}

// SetName does nothing.
func (*scopeCtx) SetName(string) {}

// SetAttributes does nothing; record through SetOutputs or metadata.
func (*scopeCtx) SetAttributes(...attribute.KeyValue) {}

// TracerProvider returns the global TracerProvider, as OpenTelemetry's own
// non-recording spans do.
func (*scopeCtx) TracerProvider() trace.TracerProvider { return otel.GetTracerProvider() }

// otelParent returns the OpenTelemetry span context current in ctx, and
// reports whether it is valid. It is asked only of a ctx that carries no
// flowtrace scope, whose ctx would answer for itself.
func otelParent(ctx context.Context) (trace.SpanContext, bool) {
	sc := trace.SpanContextFromContext(ctx)
	return sc, sc.IsValid()
}

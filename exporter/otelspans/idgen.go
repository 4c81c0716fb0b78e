package otelspans

import (
	"context"
	"math/rand/v2"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// idsKey is the context key under which the bridge hands the ids flowtrace
// decided to the IDGenerator, for the one tracer.Start call it wraps.
type idsKey struct{}

type ids struct {
	trace trace.TraceID
	span  trace.SpanID
}

// idsCtx is ctx with the ids of one tracer.Start: context.WithValue
// would cost a second allocation, for the ids boxed, and a third each
// time the IDGenerator asked for them.
type idsCtx struct {
	context.Context
	ids ids
}

func (c *idsCtx) Value(key any) any {
	if _, ok := key.(idsKey); ok {
		return &c.ids
	}
	return c.Context.Value(key)
}

func contextWithIDs(ctx context.Context, t trace.TraceID, s trace.SpanID) context.Context {
	return &idsCtx{Context: ctx, ids: ids{trace: t, span: s}}
}

// IDGenerator returns an sdktrace.IDGenerator that gives the spans the
// bridge starts exactly the trace and span IDs flowtrace decided on the
// caller's goroutine (RunStart.TraceID and SpanID, ComponentStart.SpanID),
// and random IDs to every other span of the provider.
//
// Install it in a TracerProvider of your own with
// sdktrace.WithIDGenerator(otelspans.IDGenerator()); NewOTLP's own tracer
// gives the same IDs without it.
// With it, an outgoing request can name its parent span before that span
// is exported, and a nested run's span finds its parent. Without it, the
// SDK picks its own IDs: the tree within a run still holds, but runs
// nested in other runs and callers in other processes name parents that
// do not exist in the exported trace.
//
// It is safe for concurrent use.
func IDGenerator() sdktrace.IDGenerator { return idGenerator{} }

type idGenerator struct{}

func (idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if v, ok := ctx.Value(idsKey{}).(*ids); ok && v.trace.IsValid() && v.span.IsValid() {
		return v.trace, v.span
	}
	var t trace.TraceID
	for !t.IsValid() {
		hi, lo := rand.Uint64(), rand.Uint64()
		for i := range 8 {
			t[i], t[8+i] = byte(hi>>(56-8*i)), byte(lo>>(56-8*i))
		}
	}
	return t, randomSpanID()
}

func (idGenerator) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	if v, ok := ctx.Value(idsKey{}).(*ids); ok && v.span.IsValid() {
		return v.span
	}
	return randomSpanID()
}

func randomSpanID() trace.SpanID {
	var s trace.SpanID
	for !s.IsValid() {
		v := rand.Uint64()
		for i := range 8 {
			s[i] = byte(v >> (56 - 8*i))
		}
	}
	return s
}

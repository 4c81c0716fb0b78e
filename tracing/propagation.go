package tracing

import (
	"context"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowtrace/flowtrace"
)

// Canonical header keys, for reading and writing http.Header directly.
var (
	keyTraceparent = http.CanonicalHeaderKey(traceparentHeader)
	keyTracestate  = http.CanonicalHeaderKey(tracestateHeader)
	keyBaggage     = http.CanonicalHeaderKey(baggageHeader)
)

// Inject writes the propagation fields of the run carried by ctx into
// carrier, for a call to another process over anything that carries
// string fields (message headers, job records): traceparent names the
// run's trace, the current span (the innermost component's, else the
// run's own, or a span OpenTelemetry started inside it) and the run's
// sampled and random flags; tracestate, when the run has one, is the one
// its caller sent (see Extract) — else a tracestate already in carrier is
// kept only if carrier's traceparent named the run's trace, and emptied
// otherwise; baggage carries the run ID, and the
// session and user IDs under WithIdentityBaggage. A baggage field
// already in carrier is kept, flowtrace's members put in front of its
// members (replacing any flowtrace member it had). It reports whether it
// wrote anything: outside a run it leaves carrier untouched.
//
// Inject records no component: the call it propagates is the caller's to
// describe, and the traceparent names the caller's current span.
//
// Inject reads the whole existing baggage when carrier implements
// propagation.ValuesGetter (propagation.HeaderCarrier does), else only
// carrier.Get's value. Inject never touches OpenTelemetry's global
// propagator.
func Inject(ctx context.Context, carrier propagation.TextMapCarrier, opts ...Option) bool {
	if carrier == nil {
		return false
	}
	out, ok := outgoing(ctx)
	if !ok {
		return false
	}
	cfg := newConfig(opts)
	if out.state == "" && carrier.Get(tracestateHeader) != "" {
		// The carrier's own tracestate goes with its traceparent: kept for
		// the same trace, emptied for another, never paired with the run's.
		prev, valid := parseTraceparent(strings.Trim(carrier.Get(traceparentHeader), " \t"))
		if !valid || prev.traceID != out.tp.traceID {
			carrier.Set(tracestateHeader, "")
		}
	}
	carrier.Set(traceparentHeader, out.tp.String())
	if out.state != "" {
		carrier.Set(tracestateHeader, out.state)
	}
	if v, ok := mergeBaggage(values(carrier, baggageHeader), out.id, cfg.identityBaggage); ok {
		carrier.Set(baggageHeader, v)
	}
	return true
}

// Extract returns a ctx under which StartTracers continues the remote run
// that carrier's traceparent, tracestate and baggage fields name (see
// flowtrace.ContextWithRemoteParent), or ctx itself when carrier holds no
// valid traceparent. The fields are untrusted input and are read as the
// Middleware reads headers: optional whitespace (spaces, tabs) around a
// value is trimmed, as HTTP does; a traceparent that is malformed, longer
// than 512 bytes, or given more than once starts a fresh trace; a
// tracestate that is malformed or has more than 32 members is discarded
// (the trace still continued), and one longer than 512 bytes is cut by
// whole entries; a baggage field that is malformed or past the W3C limits
// (8,192 bytes, 180 members) is ignored as a whole, the trace still
// continued from traceparent.
func Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	if carrier == nil {
		return ctx
	}
	return continueRemote(ctx, values(carrier, traceparentHeader), values(carrier, tracestateHeader), values(carrier, baggageHeader))
}

func values(c propagation.TextMapCarrier, key string) []string {
	if vg, ok := c.(propagation.ValuesGetter); ok {
		return vg.Values(key)
	}
	if v := c.Get(key); v != "" {
		return []string{v}
	}
	return nil
}

// continueRemote returns ctx with the remote parent the header lines name,
// or ctx itself when they name none.
func continueRemote(ctx context.Context, traceparents, tracestates, baggage []string) context.Context {
	p, list, ok := remoteParent(traceparents, tracestates, baggage)
	if !ok {
		return ctx
	}
	ctx = flowtrace.ContextWithRemoteParent(ctx, p)
	if list != "" {
		ctx = withWireState(ctx, p.TraceID, list, p.TraceState)
	}
	return ctx
}

// remoteParent builds the caller from its traceparent, tracestate and
// baggage lines, and returns the validated tracestate list too. Exactly
// one valid traceparent is required (W3C: duplicates are invalid); the
// tracestate is read only then, as the specification says.
func remoteParent(traceparents, tracestates, baggage []string) (flowtrace.RemoteParent, string, bool) {
	if len(traceparents) != 1 {
		return flowtrace.RemoteParent{}, "", false
	}
	tp, ok := parseTraceparent(strings.Trim(traceparents[0], " \t"))
	if !ok {
		return flowtrace.RemoteParent{}, "", false
	}
	id, _ := parseBaggage(baggage)
	p := flowtrace.RemoteParent{
		TraceID:   tp.traceID,
		SpanID:    tp.spanID,
		Sampled:   tp.sampled,
		Random:    tp.random,
		RunID:     id.runID,
		SessionID: id.sessionID,
		UserID:    id.userID,
	}
	list, ok := parseTracestate(tracestates)
	if ok {
		p.TraceState = otelTraceState(list)
	}
	return p, list, true
}

// propagated is what a call made in a run sends.
type propagated struct {
	tp    traceParent
	state string // tracestate; "" for none
	id    identity
}

// outgoing returns what a call made with ctx propagates: the run's trace,
// the current span, the flags, the trace state and the run's identity. The
// current span is the one OpenTelemetry finds in ctx — the innermost
// flowtrace scope's, or a span OpenTelemetry started inside it — as long
// as it belongs to the run's trace. It reports false outside a run.
func outgoing(ctx context.Context) (propagated, bool) {
	rc, ok := flowtrace.RunFromContext(ctx)
	if !ok {
		return propagated{}, false
	}
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() || sc.TraceID() != rc.TraceID() {
		// A span of another trace started inside the run (a new root):
		// the request still belongs to the run, under its scope's span.
		sc = scopeSpanContext(ctx, rc)
		if !sc.IsValid() {
			return propagated{}, false
		}
	}
	return propagated{
		tp: traceParent{
			traceID: sc.TraceID(),
			spanID:  sc.SpanID(),
			sampled: sc.IsSampled(),
			random:  sc.IsRandom(),
		},
		state: tracestateFor(ctx, sc),
		id:    identity{runID: rc.RunID(), sessionID: rc.SessionID(), userID: rc.UserID()},
	}, true
}

// scopeSpanContext returns the span context of the innermost flowtrace
// scope of ctx, whatever OpenTelemetry span is current in it.
func scopeSpanContext(ctx context.Context, rc flowtrace.RunContext) trace.SpanContext {
	span := rc.SpanID()
	if cc, ok := flowtrace.ComponentFromContext(ctx); ok {
		span = cc.SpanID()
	}
	var flags trace.TraceFlags
	if rc.Sampled() {
		flags = trace.FlagsSampled
	}
	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: rc.TraceID(), SpanID: span, TraceFlags: flags.WithRandom(rc.Random()), TraceState: rc.TraceState(),
	})
}

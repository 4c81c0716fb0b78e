package tracing

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/propagation"

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
// run's own) and the run's sampling decision; baggage carries the run ID,
// and the session and user IDs under WithIdentityBaggage. A baggage field
// already in carrier is kept, flowtrace's members put in front of its
// members (replacing any flowtrace member it had). It reports whether it
// wrote anything: outside a run it leaves carrier untouched.
//
// Inject reads the whole existing baggage when carrier implements
// propagation.ValuesGetter (propagation.HeaderCarrier does), else only
// carrier.Get's value. Inject never touches OpenTelemetry's global
// propagator.
func Inject(ctx context.Context, carrier propagation.TextMapCarrier, opts ...Option) bool {
	if carrier == nil {
		return false
	}
	tp, id, ok := outgoing(ctx)
	if !ok {
		return false
	}
	cfg := newConfig(opts)
	carrier.Set(traceparentHeader, tp.String())
	if v, ok := mergeBaggage(values(carrier, baggageHeader), id, cfg.identityBaggage); ok {
		carrier.Set(baggageHeader, v)
	}
	return true
}

// Extract returns a ctx under which StartTracers continues the remote run
// that carrier's traceparent and baggage fields name (see
// flowtrace.ContextWithRemoteParent), or ctx itself when carrier holds no
// valid traceparent. The fields are untrusted input: a traceparent that is
// malformed, or given more than once, starts a fresh trace; a baggage
// field that is malformed or past the W3C limits (8,192 bytes, 180
// members) is ignored as a whole, the trace still continued from
// traceparent.
func Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	if carrier == nil {
		return ctx
	}
	p, ok := remoteParent(values(carrier, traceparentHeader), values(carrier, baggageHeader))
	if !ok {
		return ctx
	}
	return flowtrace.ContextWithRemoteParent(ctx, p)
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

// remoteParent builds the caller from its traceparent and baggage lines.
// Exactly one valid traceparent is required (W3C: duplicates are invalid).
func remoteParent(traceparents, baggage []string) (flowtrace.RemoteParent, bool) {
	if len(traceparents) != 1 {
		return flowtrace.RemoteParent{}, false
	}
	tp, ok := parseTraceparent(traceparents[0])
	if !ok {
		return flowtrace.RemoteParent{}, false
	}
	id, _ := parseBaggage(baggage)
	return flowtrace.RemoteParent{
		TraceID:   tp.traceID,
		SpanID:    tp.spanID,
		Sampled:   tp.sampled,
		RunID:     id.runID,
		SessionID: id.sessionID,
		UserID:    id.userID,
	}, true
}

// outgoing returns what a call made with ctx propagates: the run's trace,
// the current span, the sampling decision and the run's identity. It
// reports false outside a run.
func outgoing(ctx context.Context) (traceParent, identity, bool) {
	rc, ok := flowtrace.RunFromContext(ctx)
	if !ok {
		return traceParent{}, identity{}, false
	}
	tp := traceParent{traceID: rc.TraceID(), spanID: rc.SpanID(), sampled: rc.Sampled()}
	if cc, ok := flowtrace.ComponentFromContext(ctx); ok {
		tp.spanID = cc.SpanID()
	}
	if tp.traceID == ([16]byte{}) || tp.spanID == ([8]byte{}) {
		return traceParent{}, identity{}, false
	}
	return tp, identity{runID: rc.RunID(), sessionID: rc.SessionID(), userID: rc.UserID()}, true
}

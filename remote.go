package flowtrace

import (
	"context"

	"go.opentelemetry.io/otel/trace"
)

// RemoteParent is the caller of a run in another process, as propagation
// headers (W3C traceparent and baggage) carry it. The tracing package
// builds it from an incoming request; anything else that carries a run
// across a process boundary (a message queue, a job record) can too.
//
// It is a plain value. The zero value is not a valid parent.
type RemoteParent struct {
	// TraceID is the caller's trace; the run joins it.
	TraceID [16]byte
	// SpanID is the caller's current span; the run's span becomes its child.
	SpanID [8]byte
	// Sampled is the caller's sampling decision. It is honoured both
	// ways: the run is recorded exactly when the caller's was.
	Sampled bool
	// Random is the caller's W3C Level 2 random trace ID flag: the
	// caller says the right-most 7 bytes of TraceID are random. The run
	// keeps it and passes it on (see RunContext.Random).
	Random bool
	// RunID is the caller's run ID, recorded as the run's ParentRunID.
	// It may be empty when the caller is not a flowtrace run.
	RunID string
	// SessionID and UserID are inherited by the run when its RunInfo
	// leaves them empty.
	SessionID, UserID string
	// TraceState is the caller's W3C tracestate, kept with the run and
	// passed on unchanged (see RunContext.TraceState).
	TraceState trace.TraceState
}

// Valid reports whether p names a trace and a span: both IDs non-zero.
func (p RemoteParent) Valid() bool {
	return p.TraceID != [16]byte{} && p.SpanID != [8]byte{}
}

type remoteParentKey struct{}

// ContextWithRemoteParent returns a ctx under which StartTracers continues
// the remote caller p instead of starting a new trace: the run gets its own
// run ID, p.RunID as its ParentRunID, p's trace ID, and a span that is a
// child of p.SpanID; it is sampled as p says. A run already carried by ctx
// takes precedence: a run started inside a local run is nested in it.
// An invalid p (see Valid) leaves ctx unchanged.
func ContextWithRemoteParent(ctx context.Context, p RemoteParent) context.Context {
	if !p.Valid() {
		return ctx
	}
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithValue(ctx, remoteParentKey{}, p)
}

// RemoteParentFromContext returns the remote parent stored in ctx by
// ContextWithRemoteParent. It reports false when ctx is nil or has none.
func RemoteParentFromContext(ctx context.Context) (RemoteParent, bool) {
	if ctx == nil {
		return RemoteParent{}, false
	}
	p, ok := ctx.Value(remoteParentKey{}).(RemoteParent)
	return p, ok
}

// parentOf returns the parent a run started in ctx, which carries no
// flowtrace scope, continues, and reports whether that parent is in
// another process: a local OpenTelemetry span (the nearest), else a
// remote parent set with ContextWithRemoteParent, else an OpenTelemetry
// span context extracted from a request. ok is false when ctx has none.
//
// A local span of the remote parent's trace (otelhttp's server span, with
// tracing.Middleware inside it) is the span the run is started under, but
// the remote parent still names the caller's run, session and user.
func parentOf(ctx context.Context) (p RemoteParent, remote, ok bool) {
	osc, otelOK := otelParent(ctx)
	if otelOK && !osc.IsRemote() {
		p = fromOTel(osc)
		if rp, ok := RemoteParentFromContext(ctx); ok && rp.TraceID == p.TraceID {
			p.RunID, p.SessionID, p.UserID = rp.RunID, rp.SessionID, rp.UserID
		}
		return p, false, true
	}
	if rp, ok := RemoteParentFromContext(ctx); ok {
		return rp, true, true
	}
	if otelOK {
		return fromOTel(osc), true, true
	}
	return RemoteParent{}, false, false
}

// fromOTel returns the parent an OpenTelemetry span context names.
func fromOTel(sc trace.SpanContext) RemoteParent {
	return RemoteParent{TraceID: sc.TraceID(), SpanID: sc.SpanID(), Sampled: sc.IsSampled(), Random: sc.IsRandom(), TraceState: sc.TraceState()}
}

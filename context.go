package flowtrace

import (
	"context"
	"encoding/hex"
	"fmt"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// scopeKey is the context key of the innermost scope: a component, or a
// run's own scope. Its value is a *Component.
type scopeKey struct{}

// scopeCtx is the ctx that carries a scope. It lives inside the Component
// it carries, so deriving a scope costs no allocation of its own (where
// context.WithValue would cost one per component).
type scopeCtx struct {
	context.Context
	*spanMarker // a trace.Span of its own: see otelcontext.go
	c           *Component
}

// spanMarker gives scopeCtx the trace.Span marker method in one nil
// pointer, where embedded.Span itself, an interface, takes two words in
// every scope. Nothing calls the marker.
type spanMarker struct{ embedded.Span }

func (s *scopeCtx) Value(key any) any {
	if _, ok := key.(scopeKey); ok {
		return s.c
	}
	if key == otelSpanKey { // never panics: the key's type is comparable
		return s
	}
	return s.Context.Value(key)
}

func (s *scopeCtx) String() string {
	if s.c.isRun {
		return fmt.Sprintf("%v.WithFlowtraceRun(%s)", s.Context, s.c.run.info.RunID)
	}
	return fmt.Sprintf("%v.WithFlowtraceComponent(%s)", s.Context, s.c.info().ComponentID)
}

// withScope returns a ctx that carries c, made from c's own storage.
func withScope(parent context.Context, c *Component) context.Context {
	c.ctx = scopeCtx{Context: parent, c: c}
	return &c.ctx
}

func scopeFromContext(ctx context.Context) *Component {
	if ctx == nil {
		return nil
	}
	c, _ := ctx.Value(scopeKey{}).(*Component)
	return c
}

// RunContext identifies the run a ctx belongs to. It is an immutable value,
// safe to copy and to use from any goroutine. The zero value is "no run":
// its methods return empty values.
type RunContext struct {
	r *runState
}

// RunFromContext returns the run carried by ctx. It reports false when ctx
// is nil or carries no run.
func RunFromContext(ctx context.Context) (RunContext, bool) {
	c := scopeFromContext(ctx)
	if c == nil {
		return RunContext{}, false
	}
	return RunContext{r: c.run}, true
}

func (rc RunContext) info() *RunStart {
	if rc.r == nil {
		return &RunStart{}
	}
	return &rc.r.info
}

// RunID returns the run's ID.
func (rc RunContext) RunID() string { return rc.info().RunID }

// RunName returns the run's name.
func (rc RunContext) RunName() string { return rc.info().RunName }

// ProjectName returns the run's project name.
func (rc RunContext) ProjectName() string { return rc.info().ProjectName }

// UserID returns the ID of the user the run is for.
func (rc RunContext) UserID() string { return rc.info().UserID }

// SessionID returns the run's session ID.
func (rc RunContext) SessionID() string { return rc.info().SessionID }

// ParentRunID returns the ID of the run this run was started in, or "" for
// a top-level run.
func (rc RunContext) ParentRunID() string { return rc.info().ParentRunID }

// ParentComponentID returns the ID of the component this run was started
// in, or "".
func (rc RunContext) ParentComponentID() string { return rc.info().ParentComponentID }

// TraceID returns the run's 16-byte trace ID. A top-level run derives it
// from its run ID (a UUID's own bytes, a hash of any other ID); a nested
// run inherits the trace ID of the run it was started in, and a run
// continuing a remote caller (ContextWithRemoteParent) inherits the
// caller's, so that one workflow is one trace.
func (rc RunContext) TraceID() [16]byte { return rc.info().TraceID }

// SpanID returns the run's own 8-byte span ID, decided at StartTracers.
func (rc RunContext) SpanID() [8]byte { return rc.info().SpanID }

// ParentSpanID returns the span the run was started under: the component
// whose ctx started a nested run, or a remote caller's span. It is zero for
// a top-level run.
func (rc RunContext) ParentSpanID() [8]byte { return rc.info().ParentSpanID }

// Sampled reports whether the run is recorded. An unsampled run (see
// WithSampler) keeps its identity in ctx, so that nested runs and outgoing
// requests inherit the decision, but its exporters see nothing of it.
func (rc RunContext) Sampled() bool { return rc.r != nil && rc.r.sampled }

// Random reports whether the run's trace ID is random in its right-most 7
// bytes, as W3C Trace Context Level 2's random flag says: true for a trace
// ID flowtrace generated (a run started with no RunID and no parent), and
// for a trace continued from a caller that set the flag; inherited by
// nested runs. A trace ID derived from a given RunID is not known to be
// random.
func (rc RunContext) Random() bool { return rc.r != nil && rc.r.random }

// TraceState returns the run's W3C trace state: the one its remote caller,
// OpenTelemetry parent or checkpoint carried, inherited by nested runs and
// passed on with the run's span context. It is empty for a run that
// started a trace.
func (rc RunContext) TraceState() trace.TraceState {
	if rc.r == nil {
		return trace.TraceState{}
	}
	return rc.r.tracestate()
}

// TraceIDString returns TraceID as 32 lower-case hex digits.
func (rc RunContext) TraceIDString() string {
	id := rc.TraceID()
	return hex.EncodeToString(id[:])
}

// ComponentContext identifies the innermost component a ctx belongs to. It
// is an immutable value, safe to copy and to use from any goroutine. The
// zero value is "no component": its methods return empty values.
type ComponentContext struct {
	c *Component
}

// ComponentFromContext returns the innermost component carried by ctx. It
// reports false when ctx is nil, carries no run, or carries a run with no
// component open in it.
func ComponentFromContext(ctx context.Context) (ComponentContext, bool) {
	c := scopeFromContext(ctx)
	if c == nil || c.isRun || c.skipped {
		return ComponentContext{}, false
	}
	return ComponentContext{c: c}, true
}

func (cc ComponentContext) info() *startInfo {
	if cc.c == nil {
		return &noStart
	}
	return cc.c.info()
}

// ID returns the component's ID.
func (cc ComponentContext) ID() string { return cc.info().ComponentID }

// Name returns the component's name.
func (cc ComponentContext) Name() string { return cc.info().Name }

// Type returns the component's type.
func (cc ComponentContext) Type() string { return cc.info().Type }

// ParentID returns the enclosing component's ID, or "" for a component
// directly under its run.
func (cc ComponentContext) ParentID() string {
	if cc.c == nil {
		return ""
	}
	return cc.c.parentID()
}

// ParentSpanID returns the enclosing component's span ID, or the run's span
// ID for a component directly under its run.
func (cc ComponentContext) ParentSpanID() [8]byte {
	if cc.c == nil {
		return [8]byte{}
	}
	return cc.c.parent.spanID()
}

// RunID returns the ID of the component's run.
func (cc ComponentContext) RunID() string {
	if cc.c == nil {
		return ""
	}
	return cc.c.run.info.RunID
}

// SpanID returns the component's 8-byte span ID, decided when it started.
func (cc ComponentContext) SpanID() [8]byte { return cc.info().SpanID }

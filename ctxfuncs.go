package flowtrace

import "context"

// This file holds the package-level recording functions: the methods of
// TraceService that write through the scope a ctx carries, for code that
// has the ctx and not the service (node code, tools, helpers deep in a call
// tree), as slog's package-level functions and OpenTelemetry's
// trace.SpanFromContext serve code that has no logger or tracer of its own.
//
// Each function calls the method of the same name on the service that owns
// the run in ctx, so it has that method's semantics exactly: one write
// path, whichever entry point is used. The owner is the service whose
// StartTracers started the innermost run of ctx; a run nested in another
// service's run belongs to the service that started it.
//
// A ctx without a run has no owner. The functions then do nothing, silently:
// where a method reports ErrNoRun to its service's error handler and counts
// the call in Stats.NoRun, a function has no service to report to or count
// in. Starting and ending runs stays on the service (StartTracers,
// EndTracers), which holds the configuration.

// owner returns the service that owns the run in ctx, or nil when there
// is nothing to record: no run in ctx, or an unsampled run, in which every
// method does nothing, silently, as it does on a nil *TraceService. So the
// functions skip the call, and a second look-up of the scope, where the
// method would return at once.
func owner(ctx context.Context) *TraceService {
	sc := scopeFromContext(ctx)
	if sc == nil || !sc.run.sampled {
		return nil
	}
	return sc.run.svc
}

// TraceComponent starts a component in the run carried by ctx, through the
// service that owns the run: it is that service's TraceService.TraceComponent.
// With no run in ctx it returns ctx and a nil *Component, silently (see
// AddLog).
func TraceComponent(ctx context.Context, info ComponentInfo) (context.Context, *Component) {
	if s := owner(ctx); s != nil {
		return s.TraceComponent(ctx, info)
	}
	return ctx, nil
}

// AddLog records a log in the scope ctx carries, through the service that
// owns its run: it is that service's TraceService.AddLog.
//
// With no run in ctx (none was started, or its service is disabled, which
// starts none) it does nothing and allocates nothing. Unlike the method, it
// reports nothing and counts nothing: with no run there is no service to
// report to. Code that must hear of a missing run calls the method, or
// checks RunFromContext. The other package-level functions behave the same.
func AddLog(ctx context.Context, l Log) {
	if s := owner(ctx); s != nil {
		s.AddLog(ctx, l)
	}
}

// SetInputs records inputs in the scope ctx carries, through the service
// that owns its run: it is that service's TraceService.SetInputs. With no
// run in ctx it does nothing, silently (see AddLog).
func SetInputs(ctx context.Context, inputs map[string]any) {
	if s := owner(ctx); s != nil {
		s.SetInputs(ctx, inputs)
	}
}

// SetOutputs records outputs in the scope ctx carries, through the service
// that owns its run: it is that service's TraceService.SetOutputs. With no
// run in ctx it does nothing, silently (see AddLog).
func SetOutputs(ctx context.Context, outputs map[string]any) {
	if s := owner(ctx); s != nil {
		s.SetOutputs(ctx, outputs)
	}
}

// RecordModelCall records a model call in the scope ctx carries, through
// the service that owns its run: it is that service's
// TraceService.RecordModelCall. With no run in ctx it does nothing,
// silently (see AddLog).
func RecordModelCall(ctx context.Context, call ModelCall) {
	if s := owner(ctx); s != nil {
		s.RecordModelCall(ctx, call)
	}
}

// StartStream returns the Stream of the scope ctx carries, through the
// service that owns its run: it is that service's TraceService.StartStream.
// With no run in ctx it returns nil, silently (see AddLog); a nil *Stream
// accumulates nothing.
func StartStream(ctx context.Context) *Stream {
	if s := owner(ctx); s != nil {
		return s.StartStream(ctx)
	}
	return nil
}

// Hold keeps the run of ctx, and the component ctx is scoped to, from
// finishing until release is called, through the service that owns the
// run: it is that service's TraceService.Hold. With no run in ctx it
// returns a release that does nothing, silently (see AddLog).
func Hold(ctx context.Context) (release func()) {
	if s := owner(ctx); s != nil {
		return s.Hold(ctx)
	}
	return noRelease
}

// EndComponent ends, with err, the component whose ctx is ctx, through the
// service that owns its run: it is that service's TraceService.EndComponent.
// With no run in ctx it does nothing, silently (see AddLog).
func EndComponent(ctx context.Context, err error) {
	if s := owner(ctx); s != nil {
		s.EndComponent(ctx, err)
	}
}

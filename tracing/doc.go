// Package tracing carries flowtrace runs across the boundaries of a
// goroutine-per-request service: into an HTTP handler, out through an
// HTTP client, and into log records.
//
// # Serving
//
// Middleware wraps a handler so that each request is served inside a run
// of its own, ended with the response status when the handler returns:
//
//	svc, _ := flowtrace.NewTraceService(flowtrace.WithExporter(exp))
//	http.ListenAndServe(addr, tracing.Middleware(svc, mux))
//
// A request never waits for the run's delivery: the run's end is queued
// and the response completes, however slow an exporter is. Delivery goes
// on in the background, its failures reported and counted by the service;
// WithDeliveryWait opts in to a bounded wait.
//
// # Calling
//
// Transport wraps an http.RoundTripper so that a request made with a ctx
// inside a run is recorded as a client component of the current scope
// and names that component to the server it calls:
//
//	client := &http.Client{Transport: tracing.Transport(nil)}
//	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
//	resp, err := client.Do(req)
//
// The server's Middleware then continues the caller's run as a child run,
// exactly as a run nested in one process is: its own run ID, the caller's
// run ID as ParentRunID, the caller's trace ID, its run span a child of the
// caller's client component, and the caller's sampling decision. A service
// that calls itself thus never sees two runs with one ID.
//
// Inject and Extract do the same over any carrier of string fields (a
// message queue's headers, a job record), for boundaries other than HTTP.
//
// # Wire format
//
// The run crosses the wire as W3C Trace Context and W3C Baggage, so
// OpenTelemetry-instrumented services on the path understand it:
//
//	traceparent: 00-<trace ID>-<span ID>-<flags: 01 sampled, 02 random trace ID>
//	tracestate:  the one the run was continued with, if any
//	baggage:     flowtrace.run.id=<run ID>[,flowtrace.session.id=…,flowtrace.user.id=…]
//
// The session and user IDs are sent only under WithIdentityBaggage: a
// client also calls third parties, and those IDs may identify a person.
//
// Incoming headers are untrusted input. A traceparent that is not exactly
// valid (any version but ff, lower-case hex, non-zero IDs, exactly 55
// bytes for version 00, at most 512 for a later version) is ignored and
// the run starts a new trace. A tracestate is read only with a valid
// traceparent, validated with W3C Level 2's grammar and discarded whole
// when invalid or longer than 32 members; one past 512 bytes is cut by
// whole entries, as the specification says. A
// baggage header that is not valid W3C baggage, is longer than 8,192
// bytes or has more than 180 members is ignored as a whole (a valid
// traceparent still continues the trace, without a parent run); a run,
// session or user ID in it that is longer than 256 bytes, not UTF-8 or
// holds a control character is ignored. Parsing allocates only the IDs it
// keeps. WithTrustRequest decides which requests may continue a caller's
// run at all.
//
// The package never touches OpenTelemetry's global propagator or
// TracerProvider.
//
// # Logging
//
// SlogHandler wraps a slog.Handler so that records logged with a ctx
// inside a run also become logs of that run's innermost scope, masked like
// every value flowtrace records.
package tracing

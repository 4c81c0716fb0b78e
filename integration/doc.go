// Package integration holds flowtrace's end-to-end tests against a real
// Jaeger. It is a module of its own so that Jaeger, built from source as a
// tool of this module (go tool jaeger), never enters the library's
// dependency list.
//
// # Tests
//
//   - TestDistributedExample builds examples/distributed from the root
//     module, runs it against Jaeger's OTLP/HTTP receiver and reads every
//     run back from Jaeger's query API: one trace per run with both
//     services' spans, the callee's run span a child of the caller's tool
//     span, OpenInference kinds, run and session ids on every span.
//   - TestHarnessRoundTrip exports a trace with the OpenTelemetry SDK alone
//     and reads it back, proving the harness (internal/jaegertest) apart
//     from flowtrace.
//
// # Running
//
// From this directory:
//
//	go test ./...
//
// The first run builds Jaeger (a few minutes on two cores); later runs reuse
// the build cache. Every Jaeger the tests start listens on 127.0.0.1 only, on
// ports chosen by the test, and is stopped by the test.
package integration

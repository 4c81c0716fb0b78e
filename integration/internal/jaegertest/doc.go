// Package jaegertest starts a real Jaeger v2 for a test and reads traces back
// from its query API.
//
// [Start] builds (or reuses from the build cache) the jaeger tool of the
// integration module, writes a configuration to the test's temporary
// directory with an OTLP/HTTP receiver, the query HTTP API and in-memory
// storage, all on 127.0.0.1 and on free ports, waits until Jaeger reports
// itself healthy, and stops it in t.Cleanup, waiting for the process to exit.
// Jaeger's output is kept in memory and printed only when the test fails.
//
// # Readiness and polling
//
// Every wait is bounded by a number of attempts and an interval, so a broken
// Jaeger fails the test with its logs instead of hanging until the test
// binary's timeout.
package jaegertest

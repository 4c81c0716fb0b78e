// Package exportertest checks that a flowtrace exporter keeps the contract
// of flowtrace.Exporter and flowtrace.RunExporter, as testing/slogtest
// does for slog handlers. A backend's tests call Run with a constructor:
//
//	func TestConformance(t *testing.T) {
//		exportertest.Run(t, func(t *testing.T) flowtrace.Exporter {
//			return mybackend.New(mybackend.WithEndpoint(testServer(t).URL))
//		})
//	}
//
// TestExporter does the same outside package testing and returns the
// violations as an error.
//
// # What it checks
//
// Every check drives a real flowtrace.TraceService whose only exporter is
// the one under test, wrapped in a spy, then shuts the service down. The
// checks record a complete run with every kind of record and value, a
// nested run, components left open until the run ends, many runs at once
// whose records interleave, and a run whose records overflow a queue (so
// that the exporter gets components that never end, and a component
// whose parent it never saw start). Throughout, the suite reports:
//
//   - a Name that is empty or changes between calls;
//   - an error returned by StartRun, any RunExporter method or Shutdown,
//     for records the service delivers in ordinary operation; a nil
//     RunExporter without an error; a panic;
//   - a record modified by the exporter, during its call or afterwards
//     (each record is compared with a copy taken before the call, once
//     when the call returns and again after Shutdown);
//   - a second call of Shutdown, after the service's, that returns an
//     error or panics: Shutdown must be idempotent;
//   - with WithGoroutineCheck, a goroutine started from the moment the
//     exporter was asked for that is still running after Shutdown.
//
// The spy also checks the service's side of the contract, which the
// exporter relies on: each RunExporter is called from one goroutine at a
// time and never after EndRun, a component's records come between its
// start and its end, components left open are ended with
// flowtrace.ErrComponentNotEnded before EndRun, and Shutdown comes after
// the last run. A failure prefixed "service:" is a fault of flowtrace, not
// of the exporter.
//
// # What it needs
//
// The constructor is called once per check and must return a new exporter
// that works: one writing to a buffer or a test server, not one whose
// backend is unreachable. The suite uses only run and component IDs it
// generates, so an exporter may refuse a run ID it has seen before. It
// does not read what the exporter produced, since every backend stores
// runs its own way: check the output in tests of your own, against the
// same records.
package exportertest

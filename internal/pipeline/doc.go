// Package pipeline delivers records from the goroutines that make them to
// the backends that export them.
//
// # Data flow
//
// A producer (the root package's AddLog, TraceComponent, End...) builds an
// immutable record on its own goroutine, then Run.Emit pushes it onto the
// ring queue of every lane of the run: one lane per backend registered when
// the run started. Each lane has one worker goroutine, the only one that
// calls the backend, so a backend receives a run's records serially and in
// order. A run's opening and closing travel on the lane's small unbounded
// control list, never dropped and never blocking; the worker orders them
// against the run's queued records by counting.
//
// Every record is counted exactly once per lane as delivered, dropped or
// failed; a run's Wait returns once every lane has accounted for all of it,
// and the error handler has been told of its failures.
//
// # Files
//
//   - pipeline.go: the Pipeline (registration, runs, Stats, Shutdown).
//   - run.go: a run's state on its lanes; Emit, Close, Wait.
//   - lane.go: a lane's state, its life cycle, and an overview of both.
//   - control.go: the control list of openings and closings.
//   - backpressure.go: what a producer does when a queue is full.
//   - worker.go: the worker loop and the backend calls.
//   - watchdog.go: abandoning a call that outlives the export timeout.
//   - reporter.go: running the error handler off the delivery goroutines.
//   - ring.go, gate.go: the lock-free queue, and the gate of a run or scope.
package pipeline

// Package memory is a flowtrace exporter that keeps every run in memory, for
// tests: the library's own and its users'.
//
// # Use
//
//	rec := memory.New()
//	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(rec))
//	...
//	sum, err := svc.EndTracers(ctx, outputs, runErr)
//	run, ok := rec.Run(sum.RunID) // complete: EndTracers waited for delivery
//
// # Values come back as snapshots
//
// The library snapshots what it is given before the call returns, and
// this exporter keeps the snapshots: an int comes back as int64, a
// []string as []any, a struct as a map[string]any, a secret as
// flowtrace.Masked. So a test's
//
//	assert.Equal(t, map[string]any{"n": 3}, c.Outputs) // fails: c.Outputs["n"] is int64(3)
//
// fails. Compare with what was passed, snapshotted the same way:
//
//	assert.Equal(t, memory.Snapshot(map[string]any{"n": 3}), c.Outputs)
//
// or, for a single number, assert.EqualValues(t, 3, c.Outputs["n"]).
//
// # What a Run holds
//
// A Run gathers the records of one run as they were delivered: the
// RunStart, the components in start order, the run-level logs (those whose
// ComponentID is empty), the outputs of every run-level SetOutputs merged in
// order (later keys win) with RunEnd.Outputs merged last, and the run's end.
// A Component likewise holds its ComponentStart, its logs, its merged
// outputs and its end. EndRun closes every component whose end was not
// delivered (for instance because it was dropped under queue overflow) with
// flowtrace.ErrComponentNotEnded and the run's end time, as the
// RunExporter contract asks.
//
// # Strictness
//
// The exporter is a test oracle, so it refuses records that a correct
// pipeline never delivers instead of dropping them silently: a record that
// names a component whose start was never delivered (ErrUnknownComponent),
// a second start of the ID of a component still open (ErrDuplicateComponent), a record for a
// component after its end (ErrComponentEnded), any record after EndRun
// (ErrRunEnded), a record carrying another run's ID (ErrWrongRun) and a
// second StartRun with the same run ID (ErrDuplicateRun). The library
// counts a refused record as failed and passes the error to its error
// handler, so a test sees it. A refused record changes nothing.
//
// # Reading while runs are delivered
//
// Runs, Run and Len may be called at any time, concurrently with delivery:
// each returns a deep copy, so the caller may modify what it gets. The
// copy covers the trees records hold (every map[string]any and []any, at
// any depth); a value of another type, which only a record built by hand
// can hold, is shared. Records delivered after Shutdown are still
// recorded; the library, not the exporter, decides when delivery ends.
package memory

package memory

import "errors"

// Errors returned by a RunExporter of this package when it refuses a
// record. They are wrapped with the run and component concerned; test for
// them with errors.Is.
var (
	// ErrUnknownComponent reports a log, outputs or end for a component
	// whose start was never delivered.
	ErrUnknownComponent = errors.New("memory: unknown component")
	// ErrDuplicateComponent reports a second StartComponent with the ID of
	// a component of the run that is still open. (Once a component has
	// ended, its ID may start another.)
	ErrDuplicateComponent = errors.New("memory: component already started")
	// ErrComponentEnded reports a log, outputs or end for a component that
	// has already ended.
	ErrComponentEnded = errors.New("memory: component already ended")
	// ErrRunEnded reports a record delivered after EndRun.
	ErrRunEnded = errors.New("memory: run already ended")
	// ErrWrongRun reports a record whose RunID is not the ID of the run it
	// was delivered to.
	ErrWrongRun = errors.New("memory: record of another run")
	// ErrDuplicateRun reports a StartRun with a run ID the exporter has
	// already recorded (since the last Reset).
	ErrDuplicateRun = errors.New("memory: run already started")
)

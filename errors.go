package flowtrace

import (
	"context"
	"errors"
	"fmt"

	"github.com/flowtrace/flowtrace/internal/pipeline"
)

// Errors reported by a TraceService, returned or passed to its error handler.
// Test for them with errors.Is: reports wrap them with the exporter, run or
// component concerned.
var (
	// ErrNoRun reports a call whose ctx carries no run (StartTracers was not
	// called, or the ctx was not passed along). The call did nothing.
	ErrNoRun = errors.New("flowtrace: no run in context")
	// ErrRunEnded reports a second EndTracers for the same run, or the first
	// write through a run that has already ended (such writes count as Late).
	ErrRunEnded = pipeline.ErrRunEnded
	// ErrComponentEnded reports a second Component.End, or the first write
	// through a component that has already ended (such writes count as Late).
	ErrComponentEnded = errors.New("flowtrace: component already ended")
	// ErrComponentNotEnded is the error of a component that was still open
	// when its run ended; EndTracers ends it so exporters see a closed tree.
	ErrComponentNotEnded = errors.New("flowtrace: component not ended before its run ended")
	// ErrShutdown is returned by StartTracers and RegisterExporter after
	// Shutdown, and is the error of runs still open at Shutdown.
	ErrShutdown = pipeline.ErrShutdown
	// ErrQueueFull reports the first event of a run dropped because an
	// exporter's queue was full; every dropped event is counted.
	ErrQueueFull = pipeline.ErrQueueFull
	// ErrExportTimeout reports an exporter call that ran past the export
	// timeout and was abandoned.
	ErrExportTimeout = pipeline.ErrExportTimeout
	// ErrExporterPanic reports a panic recovered from an exporter.
	ErrExporterPanic = pipeline.ErrPanic
	// ErrDuplicateExporter reports a second exporter with the same name.
	ErrDuplicateExporter = pipeline.ErrDuplicate
	// ErrExporterNotFound reports UnregisterExporter of an unknown name.
	ErrExporterNotFound = pipeline.ErrNotFound
	// ErrTooManyExporters is returned when registering an exporter beyond
	// MaxExporters.
	ErrTooManyExporters = pipeline.ErrTooMany
	// ErrInDelivery is returned by EndTracers called from inside an
	// exporter call on the same run: the run's end is queued, and the
	// exporter receives it after its current call returns.
	ErrInDelivery = pipeline.ErrInDelivery
	// ErrInvalidOption reports an invalid option given to NewTraceService.
	ErrInvalidOption = errors.New("flowtrace: invalid option")
)

// recordedError is an error as it was when the caller recorded it: an
// immutable snapshot, masked like any recorded value. Its message is taken
// on the caller's goroutine, so an exporter reading it later neither races
// with a caller that changes the error afterwards nor runs the caller's
// Error method (which may panic). It keeps nothing of the caller's error:
// errors.As cannot reach a secret through it. errors.Is still matches the
// library's sentinels and context's errors that the original matched.
type recordedError struct {
	msg string
	is  []error
}

func (e *recordedError) Error() string { return e.msg }

// Is reports whether the recorded error matched target, one of the
// errors kept in sentinels, when it was recorded.
func (e *recordedError) Is(target error) bool {
	for _, s := range e.is {
		if s == target {
			return true
		}
	}
	return false
}

// sentinels are the errors a recorded error still matches with errors.Is:
// values of the library and of the standard library, which hold nothing
// of the caller's.
var sentinels = []error{
	ErrComponentNotEnded, ErrShutdown, ErrRunEnded, ErrComponentEnded, ErrNoRun,
	context.Canceled, context.DeadlineExceeded,
}

// recordErr returns err as recorded for the run: nil stays nil, the
// library's own sentinels stay themselves, and anything else becomes a
// recordedError with the snapshot of its message, taken with the settings
// of the service that owns the run and scrubbed of the run's secrets
// (limited, repaired, masked, with a panic in Error recorded as a marker).
func (rs *runState) recordErr(err error) error {
	switch err {
	case nil, ErrComponentNotEnded, ErrShutdown:
		return err
	}
	b := rs.budget()
	v := rs.svc.snap.Value(&b, err)
	if set := rs.learn(&b); set != nil {
		v = set.ScrubTree(v)
	}
	msg, ok := v.(string)
	if !ok { // a struct with a masked field is recorded by its fields
		msg = fmt.Sprint(v)
	}
	return &recordedError{msg: msg, is: matched(err)}
}

// matched returns the sentinels err matches, recovering a panic in the
// caller's Is or Unwrap methods.
func matched(err error) (is []error) {
	defer func() {
		if recover() != nil {
			is = nil
		}
	}()
	for _, s := range sentinels {
		if errors.Is(err, s) {
			is = append(is, s)
		}
	}
	return is
}

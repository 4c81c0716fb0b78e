package flowtrace

import (
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
	// ErrDuplicateComponent reports a ComponentInfo.ID already used by an
	// open component of the same run; the new component got an ID of its
	// own.
	ErrDuplicateComponent = errors.New("flowtrace: component ID already open in the run")
	// ErrInvalidOption reports an invalid option given to NewTraceService.
	ErrInvalidOption = errors.New("flowtrace: invalid option")
)

// recordedError is an error as it was when the caller recorded it. Its
// message is taken on the caller's goroutine, so an exporter reading it
// later neither races with a caller that changes the error afterwards nor
// runs the caller's Error method (which may panic). errors.Is and errors.As
// still reach the original through Unwrap.
type recordedError struct {
	msg string
	err error
}

func (e *recordedError) Error() string { return e.msg }
func (e *recordedError) Unwrap() error { return e.err }

// recordErr returns err as recorded: nil stays nil, the library's own
// sentinels stay themselves, and anything else keeps the snapshot of its
// message (limited, repaired, with a panic in Error recorded as a marker).
func (s *TraceService) recordErr(err error) error {
	switch err {
	case nil, ErrComponentNotEnded, ErrShutdown:
		return err
	}
	v := s.snap.Value(nil, err)
	msg, ok := v.(string)
	if !ok { // a struct with a masked field is recorded by its fields
		msg = fmt.Sprint(v)
	}
	return &recordedError{msg: msg, err: err}
}

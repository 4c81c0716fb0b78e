package flowtrace

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/flowtrace/flowtrace/internal/pipeline"
)

// Errors reported by a TraceService, returned or passed to its error handler.
// Test for them with errors.Is: reports wrap them with the exporter, run or
// component concerned.
var (
	// ErrNoRun reports a call whose ctx carries no run (StartTracers was not
	// called, or the ctx was not passed along). The call did nothing. Such
	// calls are counted in Stats.NoRun and reported once per kind of call
	// per interval (a minute), with their count.
	ErrNoRun = errors.New("flowtrace: no run in context")
	// ErrRunEnded reports a second EndTracers for the same run, or the first
	// write through a run that has already ended (such writes count as Late).
	ErrRunEnded = errors.New("flowtrace: run already ended")
	// ErrComponentEnded reports a second Component.End, or the first write
	// through a component that has already ended (such writes count as Late).
	ErrComponentEnded = errors.New("flowtrace: component already ended")
	// ErrComponentNotEnded is the error of a component that was still open
	// when its run ended; EndTracers ends it so exporters see a closed tree.
	ErrComponentNotEnded = errors.New("flowtrace: component not ended before its run ended")
	// ErrShutdown is returned by StartTracers and RegisterExporter after
	// Shutdown, and is the error of runs still open at Shutdown (an
	// EndTracers of such a run, already under way, returns it wrapped).
	ErrShutdown = errors.New("flowtrace: trace service is shut down")
	// ErrQueueFull reports the first event of a run dropped because an
	// exporter's queue was full; every dropped event is counted.
	ErrQueueFull = errors.New("flowtrace: exporter queue full, event dropped")
	// ErrExportTimeout reports an exporter call that ran past the export
	// timeout and was abandoned.
	ErrExportTimeout = errors.New("flowtrace: exporter call exceeded the export timeout")
	// ErrExporterPanic reports a panic recovered from an exporter.
	ErrExporterPanic = errors.New("flowtrace: exporter panicked")
	// ErrDuplicateExporter reports a second exporter with the same name.
	ErrDuplicateExporter = errors.New("flowtrace: exporter name already registered")
	// ErrExporterNotFound reports UnregisterExporter of an unknown name.
	ErrExporterNotFound = errors.New("flowtrace: exporter not registered")
	// ErrTooManyExporters is returned when registering an exporter beyond
	// MaxExporters.
	ErrTooManyExporters = errors.New("flowtrace: too many exporters (at most 64)")
	// ErrInDelivery is returned by EndTracers or Shutdown called from
	// inside an exporter's call (or Shutdown from the error handler) when
	// they would have to wait for that very call: the run's end is queued,
	// and the exporter receives it, and stops, after its current call
	// returns.
	ErrInDelivery = errors.New("flowtrace: called from inside an exporter call; delivery completes after the call returns")
	// ErrDuplicateComponent reports a ComponentInfo.ID already used by an
	// open component of the same run; the new component got an ID of its
	// own.
	ErrDuplicateComponent = errors.New("flowtrace: component ID already open in the run")
	// ErrInvalidOption reports an invalid option given to NewTraceService.
	ErrInvalidOption = errors.New("flowtrace: invalid option")
)

// recordedError is an error as it was when the caller recorded it: an
// immutable snapshot, masked like any recorded value. Its message is taken
// on the caller's goroutine, so an exporter reading it later neither races
// with a caller that changes the error afterwards nor runs the caller's
// Error method (which may panic). It unwraps to nothing: errors.As cannot
// reach the caller's error, nor a secret in it. errors.Is still reports
// whether the original was, or wrapped, a given error value — the
// library's sentinels, context's, a package's own (tracing's, say) — which
// tells an exporter nothing it did not hold already.
type recordedError struct {
	msg string
	is  []error // errors of the original's chain held by pointer, and sentinels it matched
}

func (e *recordedError) Error() string { return e.msg }

// GoString prints the recorded message only, for %#v: never the chain.
func (e *recordedError) GoString() string { return fmt.Sprintf("flowtrace.recordedError(%q)", e.msg) }

// Is reports whether target was one of the errors of the recorded error's
// chain, or a sentinel it matched, when it was recorded.
func (e *recordedError) Is(target error) bool {
	for _, s := range e.is {
		if s == target {
			return true
		}
	}
	return false
}

// sentinels are matched with errors.Is, so that an error whose own Is
// method claims one (as context's do) still matches it once recorded.
var sentinels = []error{
	ErrComponentNotEnded, ErrShutdown, ErrRunEnded, ErrComponentEnded, ErrNoRun,
	context.Canceled, context.DeadlineExceeded,
}

// maxChain bounds the errors of a chain a recorded error keeps for Is.
const maxChain = 32

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
	var v any
	var p pass
	rs.write(nil, nil, event{}, &p, func() { p.value(&v, "", err) }) // queued with its end
	msg, ok := v.(string)
	if !ok { // a struct with a masked field is recorded by its fields
		msg = fmt.Sprint(v)
	}
	return &recordedError{msg: msg, is: matched(err)}
}

// matched returns the errors of err's chain that are pointers (walking
// Unwrap() error and Unwrap() []error, at most maxChain of them) and the
// sentinels err matches, recovering a panic in the caller's Is or Unwrap
// methods.
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
	stack := []error{err}
	for len(stack) > 0 && len(is) < maxChain {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if e == nil {
			continue
		}
		// Pointers only: an error held by value could be read back by
		// reflection; a pointer compares by identity.
		if reflect.TypeOf(e).Kind() == reflect.Pointer && !slices.Contains(is, e) {
			is = append(is, e)
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			stack = append(stack, u.Unwrap())
		case interface{ Unwrap() []error }:
			for i := len(u.Unwrap()) - 1; i >= 0; i-- {
				stack = append(stack, u.Unwrap()[i])
			}
		}
	}
	return is
}

// pipelineErrors hands the service's sentinels to its pipeline, so that
// the errors it reports wrap them.
var pipelineErrors = pipeline.Errors{
	Shutdown:      ErrShutdown,
	QueueFull:     ErrQueueFull,
	ExportTimeout: ErrExportTimeout,
	Panic:         ErrExporterPanic,
	Duplicate:     ErrDuplicateExporter,
	NotFound:      ErrExporterNotFound,
	TooMany:       ErrTooManyExporters,
	InDelivery:    ErrInDelivery,
}

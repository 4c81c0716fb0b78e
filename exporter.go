package flowtrace

import (
	"context"
	"time"
)

// Exporter is a tracing backend. One Exporter serves every run of a
// TraceService: for each run it is asked for a RunExporter, which then
// receives that run's records.
//
// Implementations must be safe for concurrent use: StartRun is called from
// the delivery workers of the TraceService, possibly concurrently with
// Shutdown and with calls on RunExporters it returned. Package
// exporter/exportertest checks an implementation against this contract.
type Exporter interface {
	// Name identifies the exporter in RunSummary, Stats and errors. Names must
	// be unique within one TraceService.
	Name() string

	// StartRun opens a run and returns the RunExporter that receives the
	// run's records. The RunStart value may be retained. ctx carries the
	// export deadline and must not be retained after StartRun returns.
	// An error disables this exporter for this run only: the run's records
	// for it are counted as failed.
	StartRun(ctx context.Context, run RunStart) (RunExporter, error)

	// Shutdown flushes and releases the exporter. A TraceService calls it
	// once, after the last run that used the exporter has ended, and it
	// should return by ctx's deadline. It must be idempotent: the
	// exporter's owner may call it again, and a second call returns nil.
	Shutdown(ctx context.Context) error
}

// RunExporter receives the records of one run for one Exporter.
//
// The library calls a RunExporter from one goroutine at a time, in the order
// the events happened in the run, so an implementation needs no locks for
// state of its own run. Records, their Fields and the values inside are
// snapshots shared by every exporter of the run: they may be retained and
// read from any goroutine, are never modified by the library, and must not
// be modified by an exporter. Retaining costs memory beyond the record:
// a run's ID and its inputs live in the run's one allocation, a
// component's ID, start fields and inputs in the component's, so holding
// one string of a record holds its whole run or component (a few hundred
// bytes, and the values the caller's ctx carried) until it is let go.
// Copy what is kept for long (strings.Clone) in an exporter that batches
// for minutes or keeps runs for good. ctx carries the export deadline (see
// WithExportTimeout) and must not be
// retained after the call returns. A returned error counts the record as
// failed and is reported to the error handler; the run goes on.
//
// A RunExporter may call back into its TraceService (to trace its own
// HTTP client, say); nothing deadlocks. It should pass the ctx of the call
// it is serving, or a ctx derived from it: the library then knows that
// waiting for room in this exporter's queue would wait for the caller
// itself, and drops at once instead of waiting out BlockFor.
//
// EndRun is always the last call. Under queue overflow some records of the
// run may have been dropped (they are counted); a RunExporter should treat
// EndRun as closing any component it has not seen end.
type RunExporter interface {
	StartComponent(ctx context.Context, c ComponentStart) error
	AddLog(ctx context.Context, l LogEntry) error
	SetOutputs(ctx context.Context, o Outputs) error
	EndComponent(ctx context.Context, c ComponentEnd) error
	EndRun(ctx context.Context, r RunEnd) error
}

// RunStart describes a run when it starts.
//
// RunStart and the other records below are values the library builds and
// never modifies once an exporter has them. Their inputs, metadata and
// outputs are Fields, ordered by name; the values in them (maps and slices
// included) may be kept and read from any goroutine, and must not be
// modified.
type RunStart struct {
	RunID string
	// ParentRunID and ParentComponentID name the run and component inside
	// which this run was started; both are empty for a top-level run.
	ParentRunID       string
	ParentComponentID string
	RunName           string
	ProjectName       string
	UserID            string
	SessionID         string
	Inputs            Fields
	Metadata          Fields
	// Tags label the run; nil when it has none.
	Tags []string
	// TraceID is the run's 16-byte trace identifier. A top-level run
	// derives it from RunID; a nested run, and a run continuing a remote
	// caller (see ContextWithRemoteParent), inherits its parent's.
	TraceID [16]byte
	// SpanID is the run's own 8-byte span identifier, decided on the
	// caller's goroutine in StartTracers.
	SpanID [8]byte
	// ParentSpanID is the span the run was started under: the component
	// (or run) whose ctx started a nested run, or the remote caller's
	// span. It is zero for a top-level run.
	ParentSpanID [8]byte
	// ParentRemote reports whether ParentSpanID is a remote caller's span,
	// in another process, rather than a span of this service's runs.
	ParentRemote bool
	// Resumed reports whether the run continues a suspended run (see
	// SuspendTracers and ContextWithCheckpoint): ParentRunID names that
	// run, and ParentSpanID its span.
	Resumed bool
	Time    time.Time
}

// ComponentStart describes a component when it starts.
type ComponentStart struct {
	RunID       string
	ComponentID string
	// ParentID is the enclosing component's ID, or empty for a component
	// directly under the run.
	ParentID string
	// ParentSpanID is the enclosing component's span, or the run's own
	// span for a component directly under the run. With it an exporter
	// can parent a component whose parent's start it never received.
	ParentSpanID [8]byte
	Name         string
	Type         string
	Inputs       Fields
	Metadata     Fields
	// SpanID is the component's 8-byte span identifier, decided on the
	// caller's goroutine when the component started.
	SpanID [8]byte
	Time   time.Time
}

// LogEntry is one log record. ComponentID is empty for a run-level log.
type LogEntry struct {
	RunID       string
	ComponentID string
	Name        string
	Message     any
	Type        string
	Time        time.Time
}

// Outputs carries values set with SetOutputs. ComponentID is empty for
// run-level outputs. Successive Outputs of one scope are meant to be merged.
type Outputs struct {
	RunID       string
	ComponentID string
	Values      Fields
	Time        time.Time
}

// ComponentEnd marks the end of a component. Err is the error it ended with,
// or ErrComponentNotEnded when the run ended while it was still open.
//
// Errors in records (here and in RunEnd) are recorded like values: their
// message is taken, masked, when End or EndTracers is called, so Error
// returns that message whatever the caller does with its error afterwards.
// A recorded error keeps nothing of the caller's: it does not unwrap, and
// errors.As reaches no value of the caller's; errors.Is still matches the
// sentinels of this package and context.Canceled and DeadlineExceeded.
type ComponentEnd struct {
	RunID       string
	ComponentID string
	Err         error
	// Suspended reports a component still open when its run was
	// suspended (see SuspendTracers): it did not fail and did not finish;
	// Err is nil.
	Suspended bool
	Time      time.Time
}

// RunEnd marks the end of a run.
type RunEnd struct {
	RunID   string
	Outputs Fields
	Err     error
	// Suspended reports a run ended by SuspendTracers: neither failed nor
	// finished, it waits to be continued by a run that has Resumed set.
	// Err is nil.
	Suspended bool
	Time      time.Time
}

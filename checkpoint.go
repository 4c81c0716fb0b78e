package flowtrace

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrInvalidCheckpoint reports a checkpoint (see ContextWithCheckpoint)
// that names no run to continue: IDs of the wrong length, not hex, or all
// zero; a run, session or user ID over 256 bytes or not valid UTF-8. StartTracers reports it to the error handler and starts a fresh
// run instead.
var ErrInvalidCheckpoint = errors.New("flowtrace: invalid checkpoint")

// Checkpoint is what a run that continues another one later — in this
// process or another, after minutes or days — needs of it: its identity,
// the span to continue under, who it is for, its sampling decision and its
// W3C trace state. SuspendTracers returns one for the run it suspends, and
// CheckpointFromContext gives one for any scope; StartTracers in a ctx
// from ContextWithCheckpoint starts the continuation.
//
// It is a plain value with JSON tags, meant to be stored as JSON in an
// engine's own checkpoint. IDs are lower-case hex, as W3C traceparent
// writes them. The zero value is not a valid checkpoint.
type Checkpoint struct {
	// RunID is the run to continue: the continuation's ParentRunID.
	RunID string `json:"run_id"`
	// TraceID is the trace the continuation joins: 32 hex digits.
	TraceID string `json:"trace_id"`
	// SpanID is the span the continuation's run span is started under:
	// 16 hex digits. SuspendTracers gives the suspended run's own span.
	SpanID string `json:"span_id"`
	// SessionID and UserID are inherited by the continuation when its
	// RunInfo leaves them empty.
	SessionID string `json:"session_id,omitempty"`
	UserID    string `json:"user_id,omitempty"`
	// Sampled is the run's sampling decision, which the continuation
	// keeps: it is recorded exactly when the run was.
	Sampled bool `json:"sampled"`
	// TraceState is the run's W3C tracestate header value, if it had one,
	// passed on as it was received.
	TraceState string `json:"trace_state,omitempty"`
}

// maxCheckpointID bounds the run, session and user IDs a checkpoint may
// carry, so that a hostile checkpoint cannot make every record of its
// continuation large.
const maxCheckpointID = 256

// parse returns the checkpoint's IDs, or an error wrapping
// ErrInvalidCheckpoint that says what is wrong with it. The error names no
// value of the checkpoint: it may come from an untrusted store.
func (cp Checkpoint) parse() (trace [16]byte, span [8]byte, err error) {
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrInvalidCheckpoint, what) }
	switch {
	case cp.RunID == "":
		return trace, span, bad("no run ID")
	case len(cp.RunID) > maxCheckpointID || len(cp.SessionID) > maxCheckpointID || len(cp.UserID) > maxCheckpointID:
		return trace, span, bad(fmt.Sprintf("run, session or user ID over %d bytes", maxCheckpointID))
	case !utf8.ValidString(cp.RunID) || !utf8.ValidString(cp.SessionID) || !utf8.ValidString(cp.UserID):
		return trace, span, bad("run, session or user ID not valid UTF-8")
	case len(cp.TraceID) != 32:
		return trace, span, bad(fmt.Sprintf("trace ID of %d characters (want 32 hex digits)", len(cp.TraceID)))
	case len(cp.SpanID) != 16:
		return trace, span, bad(fmt.Sprintf("span ID of %d characters (want 16 hex digits)", len(cp.SpanID)))
	}
	if _, err := hex.Decode(trace[:], []byte(cp.TraceID)); err != nil {
		return trace, span, bad("trace ID is not hex")
	}
	if _, err := hex.Decode(span[:], []byte(cp.SpanID)); err != nil {
		return trace, span, bad("span ID is not hex")
	}
	if trace == [16]byte{} || span == [8]byte{} {
		return trace, span, bad("all-zero trace or span ID")
	}
	return trace, span, nil
}

type checkpointKey struct{}

// ContextWithCheckpoint returns a ctx under which StartTracers starts the
// continuation of the run cp was taken from: the same trace, session and
// user, the checkpoint's run as its ParentRunID, its span under the
// checkpoint's span, cp's sampling decision, and RunStart.Resumed set.
// The continuation is a run of its own: leave RunInfo.RunID empty, or give
// it an ID other than the suspended run's, which exporters have already
// closed. A
// run already carried by ctx takes precedence: a run started inside a
// local run is nested in it. A zero or malformed cp is kept as it is;
// StartTracers reports it, wrapping ErrInvalidCheckpoint, to the error
// handler and starts a fresh run.
func ContextWithCheckpoint(ctx context.Context, cp Checkpoint) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithValue(ctx, checkpointKey{}, cp)
}

func checkpointOf(ctx context.Context) (Checkpoint, bool) {
	cp, ok := ctx.Value(checkpointKey{}).(Checkpoint)
	return cp, ok
}

// CheckpointFromContext returns a checkpoint of the scope ctx carries, for
// an engine that checkpoints a run without suspending it: its run, the
// scope's span (the innermost component's, or the run's — also under a
// refused start, whose span is never delivered), the run's session, user
// and sampling decision. It reports false when ctx carries no run.
func CheckpointFromContext(ctx context.Context) (Checkpoint, bool) {
	sc := scopeFromContext(ctx)
	if sc == nil {
		return Checkpoint{}, false
	}
	span := sc.info().SpanID
	if sc.isRun || sc.skipped { // as its OpenTelemetry span (scopeCtx.SpanContext)
		span = sc.run.info.SpanID
	}
	return sc.run.checkpoint(span), true
}

// checkpoint returns the run's checkpoint, continuing under span.
func (rs *runState) checkpoint(span [8]byte) Checkpoint {
	return Checkpoint{
		RunID:      rs.info.RunID,
		TraceID:    hex.EncodeToString(rs.info.TraceID[:]),
		SpanID:     hex.EncodeToString(span[:]),
		SessionID:  rs.info.SessionID,
		UserID:     rs.info.UserID,
		Sampled:    rs.sampled,
		TraceState: rs.tracestate().String(),
	}
}

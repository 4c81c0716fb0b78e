package flowtrace

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowtrace/flowtrace/internal/pipeline"
	"github.com/flowtrace/flowtrace/internal/values"
)

// TraceService records runs and delivers them to its exporters. It holds
// configuration and the delivery pipeline, and no per-run state: where a
// write goes is decided only by the ctx it is handed.
//
// A TraceService is safe for concurrent use. Its zero value and a nil
// *TraceService are disabled services: like one made with WithDisabled,
// every call is a no-op that allocates nothing. Call Shutdown when done
// with it to stop its workers.
type TraceService struct {
	pipe      *deliveryPipeline
	snap      *values.Snapshotter
	onError   func(error)
	sampler   Sampler // nil: every run is sampled
	maxString int     // bytes kept of a string, for streams
	maxItems  int     // entries kept of a list, for messages
	maxBytes  int     // bytes of one event's values, for messages
	disabled  bool
	misuse    misuse

	runsUnsampled atomic.Uint64
	shut          atomic.Bool
	handlers      handlerCalls
}

// RunInfo describes a run to StartTracers. RunID is generated (a UUID) when
// empty. Inputs and Metadata are snapshotted when StartTracers is called,
// so the caller may reuse them at once. Tags label the run (a deployment,
// an experiment, a customer tier) for filtering in backends; they are
// copied. RunName, ProjectName and Tags are masked and scrubbed as the
// strings of a log message are; the IDs are identity, recorded as given.
// The zero value is an anonymous run.
type RunInfo struct {
	RunID, RunName, ProjectName, UserID, SessionID string
	Inputs, Metadata                               map[string]any
	Tags                                           []string
}

// runState is one run's record. It is reached only through the ctx values
// StartTracers and TraceComponent return (and, at Shutdown, through the
// pipeline's list of open runs); the service never holds it.
//
// A recorded run is one allocation: the pipeline's run (with its state on
// its first lane), the first exporter's session and a generated run ID's
// text live here.
type runState struct {
	prun       deliveryRun // pr's storage; first, for its cache-line layout (see pipeline.Run)
	svc        *TraceService
	info       RunStart
	root       Component         // the run's own scope
	traceState *trace.TraceState // W3C tracestate, passed on unchanged; nil when empty (see tracestate)

	sampled        bool
	random         bool // the trace ID's right-most 7 bytes are random (W3C Level 2)
	closing        bool // see scope.go; guarded by mu
	byShutdown     bool // closed by Shutdown; guarded by mu
	lateReported   atomic.Bool
	unsampledEnded atomic.Bool // EndTracers of an unsampled run happened
	nholds         int32       // open holds; guarded by mu

	mu    sync.Mutex // guards open, closing, byShutdown, holds, nholds
	open  openList   // the run's open components
	holds *hold      // sentinel of the list of open holds (and their free); made by the first

	secrets atomic.Pointer[values.Secrets] // seen by the run; see run_secrets.go

	sess       session      // the session of the run's first exporter (see backend.Open)
	idBuf      [36]byte     // a generated run ID's text
	components atomic.Int32 // in idBuf's padding: 4 bytes, not 8 and a size class
}

// tracestate returns the run's W3C tracestate.
func (rs *runState) tracestate() trace.TraceState {
	if rs.traceState == nil {
		return trace.TraceState{}
	}
	return *rs.traceState
}

// setTracestate sets the run's tracestate: a pointer, shared with nested
// runs, so that the many runs without one spare its three words.
func (rs *runState) setTracestate(ts trace.TraceState) {
	if ts.Len() > 0 { // a copy made here, so that ts itself does not escape when empty
		p := new(trace.TraceState)
		*p = ts
		rs.traceState = p
	}
}

// pr returns the run's delivery record (unused by an unsampled run).
func (rs *runState) pr() *deliveryRun { return &rs.prun }

// now returns the current time for a record of the run: the run's start
// plus the monotonic time elapsed since, as the OpenTelemetry SDK times a
// span's end. It reads one clock where time.Now reads two, and it keeps
// the records of a run in order and their durations exact even when the
// wall clock is stepped during the run.
func (rs *runState) now() time.Time {
	return rs.info.Time.Add(time.Since(rs.info.Time))
}

// NewTraceService returns a TraceService with the given options, its
// delivery workers started. Invalid options are reported as an error
// wrapping ErrInvalidOption.
func NewTraceService(opts ...Option) (*TraceService, error) {
	cfg := newConfig(opts)
	names := make([]string, len(cfg.exporters))
	for i, e := range cfg.exporters {
		name, err := exporterName(e)
		if err != nil {
			cfg.invalid("exporter %d: %w", i, err)
			continue
		}
		names[i] = name
		for j := range i {
			if names[j] == name {
				cfg.invalid("two exporters named %q", name)
			}
		}
	}
	if n := len(cfg.exporters); n > MaxExporters {
		cfg.errs = append(cfg.errs, fmt.Errorf("%w: %w: %d given", ErrInvalidOption, ErrTooManyExporters, n))
	}
	snap, err := values.New(cfg.values)
	if err != nil {
		cfg.errs = append(cfg.errs, fmt.Errorf("%w: %w", ErrInvalidOption, err))
	}
	if len(cfg.errs) > 0 {
		return nil, errors.Join(cfg.errs...)
	}
	s := &TraceService{snap: snap, disabled: cfg.disabled, sampler: cfg.sampler, maxString: cfg.values.MaxString}
	s.maxItems, s.maxBytes = cmp.Or(cfg.values.MaxItems, DefaultMaxItems), cmp.Or(cfg.values.MaxBytes, DefaultMaxEventBytes)
	if s.maxString == 0 {
		s.maxString = DefaultMaxStringLen
	}
	if _, always := s.sampler.(alwaysSampler); always {
		s.sampler = nil
	}
	s.onError = s.handlers.wrap(cfg.onError)
	if s.disabled {
		return s, nil
	}
	s.pipe = pipeline.New[*runState, record](pipeline.Config{
		QueueSize:     cfg.queueSize,
		Block:         time.Duration(cfg.overflow),
		ExportTimeout: cfg.exportTimeout,
		OnError:       s.onError,
		Errors:        pipelineErrors,
	})
	for i, e := range cfg.exporters {
		if err := s.pipe.Add(names[i], exporterKey(e), &backend{e: e}); err != nil {
			// Unreachable after the checks above; if it happens, the
			// workers already started must not outlive the error.
			_ = s.pipe.Shutdown(context.Background())
			return nil, err
		}
	}
	return s, nil
}

// off reports whether the service records nothing: nil, disabled, or the
// zero value (which has no pipeline).
func (s *TraceService) off() bool { return s == nil || s.pipe == nil }

// StartTracers starts a run and returns a ctx that carries it.
//
// Started inside a ctx that already carries a run, the new run is nested:
// its parent run and parent component are recorded, it belongs to its
// parent's trace (its span a child of the parent component's span), it
// inherits the parent's session and user IDs when info leaves them empty,
// and the parent's sampling decision. Started under a checkpoint (see
// ContextWithCheckpoint), it is the continuation of the checkpoint's run:
// same trace, session, user and sampling decision, its span under the
// checkpoint's, RunStart.Resumed set. Started under an OpenTelemetry span
// (a span of otelhttp's handler, one the caller started: whatever
// trace.SpanContextFromContext finds valid in ctx), it joins that span's
// trace under it, with its sampling decision and trace state, as a local
// child. Started under a remote parent (see ContextWithRemoteParent), it
// continues the remote caller's trace the same way, as a remote child; a
// local OpenTelemetry span in ctx comes first, being nearer (the remote
// parent, if of the same trace, still gives the parent run, session and
// user). Otherwise it is a top-level run: its trace ID is derived from
// its run ID, and the service's Sampler decides whether it is recorded.
//
// After Shutdown it returns ctx unchanged and ErrShutdown.
func (s *TraceService) StartTracers(ctx context.Context, info RunInfo) (context.Context, error) {
	if s.off() {
		return ctx, nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if s.shut.Load() {
		return ctx, ErrShutdown
	}
	now := time.Now()
	// One allocation holds the run's state and its inputs' entries (see
	// withKVs).
	rs, kv := withKVs[runState](len(info.Inputs))
	rs.svc = s
	id := info.RunID
	var generated [16]byte
	if id == "" {
		id, generated = newRunID(&rs.idBuf)
	}
	rs.info = RunStart{
		RunID:       id,
		RunName:     info.RunName,
		ProjectName: info.ProjectName,
		UserID:      info.UserID,
		SessionID:   info.SessionID,
		SpanID:      newSpanID(),
		Time:        now,
	}
	if parent := scopeFromContext(ctx); parent != nil {
		pi := &parent.run.info
		rs.info.ParentRunID = pi.RunID
		rs.info.TraceID = pi.TraceID
		switch {
		case parent.skipped: // a refused start, never delivered: the run's scope, as its OTel span
			rs.info.ParentSpanID = pi.SpanID
		case parent.isRun:
			rs.info.ParentSpanID = parent.spanID()
		default:
			rs.info.ParentComponentID = parent.info().ComponentID
			rs.info.ParentSpanID = parent.info().SpanID
		}
		rs.inherit(pi.SessionID, pi.UserID)
		rs.sampled = parent.run.sampled
		rs.random = parent.run.random
		rs.traceState = parent.run.traceState
	} else if cp, ok := checkpointOf(ctx); ok && rs.resume(cp) {
		// rs continues the checkpoint's run.
	} else if rp, remote, ok := parentOf(ctx); ok {
		rs.info.ParentRunID = rp.RunID
		rs.info.TraceID = rp.TraceID
		rs.info.ParentSpanID = rp.SpanID
		rs.info.ParentRemote = remote
		rs.inherit(rp.SessionID, rp.UserID)
		rs.sampled = rp.Sampled
		rs.random = rp.Random
		rs.setTracestate(rp.TraceState)
	} else {
		if info.RunID == "" {
			rs.info.TraceID = generated // what traceIDFor(id) gives, without parsing id again
			rs.random = true            // a version 4 UUID's bytes: all but 6 bits random
		} else {
			rs.info.TraceID = traceIDFor(id)
		}
		rs.sampled = s.sampler == nil || s.sampler.ShouldSample(rs.info.TraceID)
	}
	rs.root = Component{run: rs, isRun: true}
	if !rs.sampled {
		// Identity only: nested runs and outgoing requests inherit the
		// decision, and every write through it is a no-op.
		s.runsUnsampled.Add(1)
		return withScope(ctx, &rs.root), nil
	}
	var p pass
	rs.write(ctx, nil, event{}, &p, func() { // queued by StartRun
		p.name(&rs.info.RunName, info.RunName)
		p.name(&rs.info.ProjectName, info.ProjectName)
		p.fields(&rs.info.Inputs, info.Inputs, kv)
		p.fields(&rs.info.Metadata, info.Metadata, nil)
		p.tags(&rs.info.Tags, info.Tags)
	})
	if err := s.pipe.StartRunIn(&rs.prun, id, rs); err != nil {
		return ctx, err
	}
	return withScope(ctx, &rs.root), nil
}

// resume makes rs the continuation of the run cp was taken from, and
// reports whether cp was valid; an invalid cp is reported to the error
// handler, and rs is left to start a fresh trace.
func (rs *runState) resume(cp Checkpoint) bool {
	traceID, spanID, err := cp.parse()
	if err != nil {
		rs.svc.onError(fmt.Errorf("StartTracers: run %s does not continue its checkpoint: %w", rs.info.RunID, err))
		return false
	}
	rs.info.ParentRunID = cp.RunID
	rs.info.TraceID = traceID
	rs.info.ParentSpanID = spanID
	rs.info.Resumed = true
	rs.inherit(cp.SessionID, cp.UserID)
	rs.sampled = cp.Sampled
	// An invalid trace state is discarded, never passed on.
	ts, _ := trace.ParseTraceState(cp.TraceState)
	rs.setTracestate(ts)
	return true
}

// inherit takes the parent's session and user IDs where the run has none.
func (rs *runState) inherit(sessionID, userID string) {
	if rs.info.SessionID == "" {
		rs.info.SessionID = sessionID
	}
	if rs.info.UserID == "" {
		rs.info.UserID = userID
	}
}

// traceIDFor derives a trace ID from a run ID: the UUID's own bytes when
// the run ID is a UUID of version 4 or 7, whose low bits are random as W3C
// expects of a trace ID (and as RatioSample needs); otherwise — other
// UUID versions, whose low bits are a host's MAC address or a hash of a
// name, and any other string — the first 16 bytes of its SHA-256.
func traceIDFor(runID string) [16]byte {
	if u, err := uuid.Parse(runID); err == nil && (u.Version() == 4 || u.Version() == 7) {
		return u
	}
	sum := sha256.Sum256([]byte(runID))
	var id [16]byte
	copy(id[:], sum[:16])
	return id
}

// EndTracers ends the run carried by ctx, with its final outputs and error.
// It first waits for the run's holds (see Hold) to be released. Components
// still open are then ended with ErrComponentNotEnded, so exporters always
// see a closed tree; an End that comes later counts as late. A component
// whose End was waiting for a hold ends with that End's error and time.
// If Shutdown ends the run meanwhile (while EndTracers waits for the
// holds, say), EndTracers stops waiting for them, and returns as below
// with an error wrapping ErrShutdown: its outputs and error were not
// recorded.
//
// It returns when every event of the run has been delivered to every
// exporter, or has failed, or was dropped, each counted in the summary; or
// when ctx is done, with the summary so far and an error that wraps
// ctx.Err() and names the exporters still delivering. When it returns nil,
// Emitted == Delivered + Dropped + Failed for every exporter. An exporter
// abandoned for exceeding the export timeout is named in the error, wrapping
// ErrExportTimeout. Called from inside a call of one of the run's exporters,
// whatever ctx it is given, it queues the run's end and returns
// ErrInDelivery rather than wait for that call — nor for the run's holds,
// which it reports still open at once. Called from the error handler,
// it does not wait for the run's holds either (one may be held by the
// goroutine the handler runs on), and reports them the same way. The
// error handler has been told of the run's failures by the time it
// returns.
//
// A run is often ended with the ctx of the request it traced, which may be
// cancelled by then: ending it with that ctx still closes the run, but
// returns at once without waiting for delivery. To wait a bounded time
// whatever became of the request, end it with
// context.WithTimeout(context.WithoutCancel(ctx), d).
func (s *TraceService) EndTracers(ctx context.Context, outputs map[string]any, runErr error) (RunSummary, error) {
	_, sum, err := s.endRun(ctx, "EndTracers", outputs, runErr, false)
	return sum, err
}

// SuspendTracers ends the run carried by ctx as suspended — neither failed
// nor finished: waiting for a person, say, to be continued later in this
// process or another — and returns the checkpoint its continuation starts
// from (see ContextWithCheckpoint). It works as EndTracers does (it waits
// for the run's holds, then for delivery, under ctx, with the same summary
// and errors), except for what exporters see: RunEnd.Suspended is set and
// its Err is nil, and the components still open end with
// ComponentEnd.Suspended set and no error, rather than
// ErrComponentNotEnded. outputs are the run's outputs so far (what it
// waits for, say).
//
// The checkpoint is returned whenever ctx carries a run, with the error if
// there is one; store it as JSON. In an unsampled run it is unsampled, and
// so is the continuation.
func (s *TraceService) SuspendTracers(ctx context.Context, outputs map[string]any) (Checkpoint, RunSummary, error) {
	return s.endRun(ctx, "SuspendTracers", outputs, nil, true)
}

// endRun ends the run of ctx for EndTracers (op) or, suspended, for
// SuspendTracers, and returns the run's checkpoint.
func (s *TraceService) endRun(ctx context.Context, op string, outputs map[string]any, runErr error, suspend bool) (Checkpoint, RunSummary, error) {
	if s.off() {
		return Checkpoint{}, RunSummary{}, nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	sc := scopeFromContext(ctx)
	if sc == nil {
		s.noRun(opEndTracers)
		return Checkpoint{}, RunSummary{}, ErrNoRun
	}
	rs := sc.run
	var cp Checkpoint // EndTracers returns none: it costs two strings
	if suspend {
		cp = rs.checkpoint(rs.info.SpanID)
	}
	if !rs.sampled {
		if rs.unsampledEnded.Swap(true) {
			err := fmt.Errorf("%s: run %s: %w", op, rs.info.RunID, ErrRunEnded)
			rs.svc.onError(err)
			return cp, RunSummary{RunID: rs.info.RunID}, err
		}
		return cp, RunSummary{RunID: rs.info.RunID}, nil
	}
	if rs.pr().Ended() {
		err := fmt.Errorf("%s: run %s: %w", op, rs.info.RunID, ErrRunEnded)
		rs.svc.onError(err)
		return cp, rs.summary(), err
	}
	holdErr := rs.awaitHolds(ctx)
	how := closeEnd
	if suspend {
		how = closeSuspend
	}
	if !rs.close(ctx, rs.pr(), outputs, runErr, rs.now(), how) {
		if rs.closedByShutdown() {
			// Shutdown ended the run after this call found it open (while
			// it waited for the holds, say): an answer, not a second end.
			err := rs.pr().WaitErr(ctx)
			shut := fmt.Errorf("%s: run %s: ended by Shutdown first, its outputs and error not recorded: %w", op, rs.info.RunID, ErrShutdown)
			return cp, rs.summary(), errors.Join(shut, rs.openHolds(ErrShutdown), err)
		}
		err := fmt.Errorf("%s: run %s: %w", op, rs.info.RunID, ErrRunEnded)
		rs.svc.onError(err)
		return cp, rs.summary(), errors.Join(holdErr, err)
	}
	err := rs.pr().WaitErr(ctx)
	return cp, rs.summary(), errors.Join(holdErr, err)
}

// summary returns the run's summary as its lanes count it now.
func (rs *runState) summary() RunSummary {
	n := rs.pr().Lanes()
	sum := RunSummary{
		RunID:      rs.info.RunID,
		Components: int(rs.components.Load()),
		Exporters:  make(map[string]Delivery, n),
	}
	for i := range n {
		l := rs.pr().Delivery(i)
		sum.Exporters[l.Name] = Delivery(l.Delivery)
	}
	return sum
}

// Shutdown ends the runs still open (with ErrShutdown as their error),
// waits until their events are delivered, stops the delivery workers and
// shuts every exporter down. Runs without holds (see Hold) are ended at
// once; the holds of the others are waited for together, each run ended
// as soon as its own are released, so that a leaked hold costs only its
// own run: at ctx's deadline, the runs still held are ended and their
// holds named, wrapping ErrHoldsOpen. New runs are refused from the moment it is
// called. It returns by ctx's deadline, naming the exporters that had not
// finished; an exporter call abandoned for exceeding the export timeout and
// still running is named too, wrapping ErrExportTimeout (only such a call:
// events a run lost to a call that has since returned were reported when
// it was abandoned, and are in the run's counts). It is idempotent:
// a later call waits again for whatever was still pending, under its own
// ctx, and returns nil once everything has finished. After it returns nil,
// no goroutine of the service is running, and the error handler has
// returned from every report. Called from inside an exporter's call, or
// from the error handler, it does all it can without waiting for its own
// goroutine, nor for any hold (it ends every run at once), and returns an
// error wrapping ErrInDelivery.
func (s *TraceService) Shutdown(ctx context.Context) error {
	if s.off() {
		return nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	s.shut.Store(true)
	s.stopMisuse()
	s.pipe.Close()
	runs := s.pipe.ActiveRuns()
	errs := s.endRuns(ctx, runs)
	for _, r := range runs {
		if err := r.Await(ctx); err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
	}
	if err := s.pipe.Shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// RegisterExporter adds an exporter. Runs started from now on deliver to
// it; runs already started keep the exporters they started with.
func (s *TraceService) RegisterExporter(e Exporter) error {
	if s.off() {
		return nil
	}
	name, err := exporterName(e)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	return s.pipe.Add(name, exporterKey(e), &backend{e: e})
}

// UnregisterExporter removes the exporter with the given name. Runs that
// started with it keep delivering to it; it is shut down after the last of
// them has ended.
func (s *TraceService) UnregisterExporter(name string) error {
	if s.off() {
		return nil
	}
	return s.pipe.Remove(name)
}

// Exporters returns the names of the exporters new runs deliver to.
func (s *TraceService) Exporters() []string {
	if s.off() {
		return nil
	}
	return s.pipe.Names()
}

// Stats returns the service's counters. While runs are in flight it is a
// best-effort snapshot; once they have ended, Emitted == Delivered +
// Dropped + Failed for every exporter.
func (s *TraceService) Stats() Stats {
	if s.off() {
		return Stats{}
	}
	ps := s.pipe.Stats()
	st := Stats{
		RunsStarted:   ps.RunsStarted,
		RunsUnsampled: s.runsUnsampled.Load(),
		RunsActive:    ps.RunsActive,
		Late:          ps.Late,
		NoRun:         s.misuse.total(),
		Exporters:     make(map[string]Delivery, len(ps.Lanes)),
	}
	for name, d := range ps.Lanes {
		st.Exporters[name] = Delivery(d)
	}
	return st
}

// RunSummary says what became of one run's events. It is a plain value,
// owned by the caller of EndTracers. The zero value is the summary of a
// disabled service's run: no exporter, nothing emitted.
type RunSummary struct {
	RunID string
	// Components is the number of components started in the run.
	Components int
	// Exporters maps each exporter the run delivered to by name.
	Exporters map[string]Delivery
}

// Delivery counts events for one exporter. Every emitted event ends up
// delivered, dropped (queue full) or failed (the exporter returned an
// error, panicked, timed out, or refused the run). The zero value counts
// nothing.
type Delivery struct {
	Emitted, Delivered, Dropped, Failed uint64
}

// Stats are a TraceService's counters since it was created, as a plain
// value owned by the caller of Stats. The zero value is a service that has
// done nothing (or a disabled one).
type Stats struct {
	// RunsStarted counts recorded runs; RunsActive those not yet ended and
	// fully delivered.
	RunsStarted, RunsActive uint64
	// RunsUnsampled counts runs the sampler left out (or that inherited
	// that decision): they recorded nothing and emitted no event.
	RunsUnsampled uint64
	// Late counts writes that arrived after their run or component ended;
	// they were not delivered.
	Late uint64
	// NoRun counts calls whose ctx carried no run (they did nothing, and
	// are reported to the error handler once per interval, wrapping
	// ErrNoRun, with their count).
	NoRun uint64
	// Exporters maps each exporter by name, including removed ones.
	Exporters map[string]Delivery
}

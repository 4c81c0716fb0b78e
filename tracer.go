package flowtrace

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

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
	pipe     *pipeline.Pipeline
	snap     *values.Snapshotter
	onError  func(error)
	disabled bool

	runsActive atomic.Int64
	shut       atomic.Bool
}

// RunInfo describes a run to StartTracers. RunID is generated (a UUID) when
// empty. Metadata is snapshotted when StartTracers is called, so the caller
// may reuse it at once. The zero value is an anonymous run.
type RunInfo struct {
	RunID, RunName, ProjectName, UserID, SessionID string
	Metadata                                       map[string]any
}

// runState is one run's record. It is reached only through the ctx values
// StartTracers and TraceComponent return (and, at Shutdown, through the
// pipeline's list of open runs); the service never holds it.
type runState struct {
	svc  *TraceService
	pr   *pipeline.Run
	info RunStart
	root Component // the run's own scope

	mu      sync.Mutex // guards open, closing
	open    Component  // sentinel of the list of open components
	closing bool

	components   atomic.Int64
	lateReported atomic.Bool
	secrets      atomic.Pointer[values.Secrets] // seen by the run; see run_secrets.go
}

// NewTraceService returns a TraceService with the given options, its
// delivery workers started. Invalid options are reported as an error
// wrapping ErrInvalidOption.
func NewTraceService(opts ...Option) (*TraceService, error) {
	cfg := newConfig(opts)
	for i, e := range cfg.exporters {
		if e == nil {
			cfg.invalid("exporter %d is nil", i)
		} else if e.Name() == "" {
			cfg.invalid("exporter %d (%T) has an empty name", i, e)
		}
		for _, o := range cfg.exporters[:i] {
			if e != nil && o != nil && o.Name() == e.Name() {
				cfg.invalid("two exporters named %q", e.Name())
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
	s := &TraceService{snap: snap, disabled: cfg.disabled}
	s.onError = safeHandler(cfg.onError)
	if s.disabled {
		return s, nil
	}
	s.pipe = pipeline.New(pipeline.Config{
		QueueSize:     cfg.queueSize,
		Block:         time.Duration(cfg.overflow),
		ExportTimeout: cfg.exportTimeout,
		OnError:       s.onError,
		KindNames:     kindNames[:],
	})
	for _, e := range cfg.exporters {
		if err := s.pipe.Add(&backend{e: e}); err != nil {
			// Unreachable after the checks above; if it happens, the
			// workers already started must not outlive the error.
			_ = s.pipe.Shutdown(context.Background())
			return nil, err
		}
	}
	return s, nil
}

// safeHandler wraps the error handler so that a panicking handler cannot
// take a delivery worker down with it.
func safeHandler(h func(error)) func(error) {
	if h == nil {
		return func(err error) { slog.Error("flowtrace", "err", err) }
	}
	return func(err error) {
		defer func() { _ = recover() }()
		h(err)
	}
}

// off reports whether the service records nothing: nil, disabled, or the
// zero value (which has no pipeline).
func (s *TraceService) off() bool { return s == nil || s.pipe == nil }

// StartTracers starts a run and returns a ctx that carries it. Started
// inside a ctx that already carries a run, the new run is nested: its
// parent run and parent component are recorded. After Shutdown it returns
// ctx unchanged and ErrShutdown.
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
	id := info.RunID
	if id == "" {
		id = uuid.NewString()
	}
	rs := &runState{svc: s}
	b := rs.budget()
	rs.info = RunStart{
		RunID:       id,
		RunName:     info.RunName,
		ProjectName: info.ProjectName,
		UserID:      info.UserID,
		SessionID:   info.SessionID,
		Metadata:    s.snap.Map(&b, info.Metadata),
		TraceID:     traceIDFor(id),
		Time:        now,
	}
	if set := rs.learn(&b); set != nil {
		set.ScrubMap(rs.info.Metadata)
	}
	if parent := scopeFromContext(ctx); parent != nil {
		rs.info.ParentRunID = parent.run.info.RunID
		if !parent.isRun {
			rs.info.ParentComponentID = parent.info.ComponentID
		}
	}
	rs.root = Component{run: rs, isRun: true, info: ComponentStart{RunID: id}}
	rs.open.prev, rs.open.next = &rs.open, &rs.open
	pr, err := s.pipe.StartRun(id, rs)
	if err != nil {
		return ctx, err
	}
	rs.pr = pr
	s.runsActive.Add(1)
	return withScope(ctx, &rs.root), nil
}

// traceIDFor derives a trace ID from a run ID: the UUID's bytes when the
// run ID is a UUID, otherwise the first 16 bytes of its SHA-256.
func traceIDFor(runID string) [16]byte {
	if u, err := uuid.Parse(runID); err == nil {
		return u
	}
	sum := sha256.Sum256([]byte(runID))
	var id [16]byte
	copy(id[:], sum[:16])
	return id
}

// EndTracers ends the run carried by ctx, with its final outputs and error.
// Components still open are ended first with ErrComponentNotEnded, so
// exporters always see a closed tree.
//
// It returns when every event of the run has been delivered to every
// exporter, or has failed, or was dropped, each counted in the summary; or
// when ctx is done, with the summary so far and an error that wraps
// ctx.Err() and names the exporters still delivering. When it returns nil,
// Emitted == Delivered + Dropped + Failed for every exporter. An exporter
// abandoned for exceeding the export timeout is named in the error, wrapping
// ErrExportTimeout.
func (s *TraceService) EndTracers(ctx context.Context, outputs map[string]any, runErr error) (RunSummary, error) {
	if s.off() {
		return RunSummary{}, nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	sc := scopeFromContext(ctx)
	if sc == nil {
		s.onError(fmt.Errorf("EndTracers: %w", ErrNoRun))
		return RunSummary{}, ErrNoRun
	}
	rs := sc.run
	if rs.pr.Ended() {
		err := fmt.Errorf("EndTracers: run %s: %w", rs.info.RunID, ErrRunEnded)
		rs.svc.onError(err)
		return rs.summary(rs.pr.Summary()), err
	}
	if !rs.close(ctx, rs.pr, outputs, runErr, time.Now()) {
		err := fmt.Errorf("EndTracers: run %s: %w", rs.info.RunID, ErrRunEnded)
		rs.svc.onError(err)
		return rs.summary(rs.pr.Summary()), err
	}
	lanes, err := rs.pr.Wait(ctx)
	return rs.summary(lanes), err
}

// close ends the open components, innermost first, then closes the run to
// writes and queues its end. It reports false if the run was already closed.
// pr is the run's pipeline record: Shutdown may close a run before
// StartTracers has stored it in rs.
//
// Closing waits for the writes in progress, each bounded by the overflow
// policy; once ctx is done, those still waiting for room give up, so that
// closing returns soon after ctx's deadline whatever BlockFor is.
func (rs *runState) close(ctx context.Context, pr *pipeline.Run, outputs map[string]any, runErr error, now time.Time) bool {
	defer context.AfterFunc(ctx, pr.Abort)()
	rs.mu.Lock()
	rs.closing = true
	var open []*Component
	for c := rs.open.prev; c != &rs.open; c = c.prev {
		open = append(open, c)
	}
	rs.mu.Unlock()
	for _, c := range open {
		c.end(pr, ErrComponentNotEnded, now, false)
	}
	b := rs.budget()
	end := &RunEnd{RunID: rs.info.RunID, Outputs: rs.svc.snap.Map(&b, outputs), Time: now}
	if set := rs.learn(&b); set != nil {
		set.ScrubMap(end.Outputs)
	}
	end.Err = rs.recordErr(runErr)
	if !pr.Close(end) {
		return false
	}
	rs.svc.runsActive.Add(-1)
	return true
}

func (rs *runState) summary(lanes []pipeline.LaneDelivery) RunSummary {
	sum := RunSummary{
		RunID:      rs.info.RunID,
		Components: int(rs.components.Load()),
		Exporters:  make(map[string]Delivery, len(lanes)),
	}
	for _, l := range lanes {
		sum.Exporters[l.Name] = Delivery(l.Delivery)
	}
	return sum
}

// Shutdown ends the runs still open (with ErrShutdown as their error),
// waits until their events are delivered, stops the delivery workers and
// shuts every exporter down. New runs are refused from the moment it is
// called. It returns by ctx's deadline, naming the exporters that had not
// finished; an exporter call abandoned for exceeding the export timeout and
// still running is named too, wrapping ErrExportTimeout. It is idempotent:
// a later call waits again for whatever was still pending, under its own
// ctx, and returns nil once everything has finished. After it returns nil,
// no goroutine of the service is running.
func (s *TraceService) Shutdown(ctx context.Context) error {
	if s.off() {
		return nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	s.shut.Store(true)
	s.pipe.Close()
	now := time.Now()
	runs := s.pipe.ActiveRuns()
	for _, r := range runs {
		r.Owner.(*runState).close(ctx, r, nil, ErrShutdown, now)
	}
	var errs []error
	for _, r := range runs {
		if _, err := r.Wait(ctx); err != nil {
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
	if e == nil || e.Name() == "" {
		return fmt.Errorf("%w: exporter is nil or has an empty name", ErrInvalidOption)
	}
	return s.pipe.Add(&backend{e: e})
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
		RunsStarted: ps.RunsStarted,
		RunsActive:  uint64(max(s.runsActive.Load(), 0)),
		Late:        ps.Late,
		Exporters:   make(map[string]Delivery, len(ps.Lanes)),
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
	RunsStarted, RunsActive uint64
	// Late counts writes that arrived after their run or component ended;
	// they were not delivered.
	Late uint64
	// Exporters maps each exporter by name, including removed ones.
	Exporters map[string]Delivery
}

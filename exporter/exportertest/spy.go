package exportertest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/internal/values"
)

// spy wraps the exporter under test. It checks both sides of the contract
// on every call: that the service calls the exporter as documented (one
// goroutine at a time per run, in event order, EndRun last, Shutdown after
// the last run), and that the exporter accepts the calls, does not panic,
// keeps a stable name and leaves every record as it was given.
type spy struct {
	inner flowtrace.Exporter
	h     *harness
	name  string // the first name the exporter gave

	shutdowns atomic.Int64

	mu   sync.Mutex
	runs map[string]*spyRun
	// frozen pairs every record given to the exporter with a copy taken
	// before the call, to be compared again once everything has ended.
	frozen []frozen

	// block, if set, is called before each StartComponent reaches the
	// exporter; a check uses it to hold the delivery goroutine.
	block func(c flowtrace.ComponentStart)
	// lossy is set by a check that makes the service drop records: a
	// component may then name a parent whose start was dropped.
	lossy bool

	// refused is closed when the exporter first refuses a run, so that a
	// check waiting for one of the run's records stops waiting.
	refused     chan struct{}
	refusedOnce sync.Once
}

type frozen struct {
	what     string
	got, was any // got points to the record, was is its copy
}

func newSpy(e flowtrace.Exporter, h *harness) *spy {
	s := &spy{inner: e, h: h, runs: make(map[string]*spyRun), refused: make(chan struct{})}
	s.name = s.Name()
	if s.name == "" {
		h.errorf("Name returned the empty string; a name must identify the exporter")
	}
	return s
}

// Name returns the exporter's name, checking that it never changes.
func (s *spy) Name() string {
	var n string
	if err := callSafely(func() error { n = s.inner.Name(); return nil }); err != nil {
		s.h.errorf("Name: %v", err)
		return s.name
	}
	if s.name != "" && n != s.name {
		s.h.errorf("Name returned %q, then %q; it must be stable", s.name, n)
	}
	return n
}

// call runs one call into the exporter with a copy of its record: it
// recovers a panic, reports an error, and checks that the record did not
// change during the call.
func (s *spy) call(what string, rec, copyBefore any, f func() error) error {
	err := callSafely(f)
	if err != nil {
		s.h.errorf("%s returned an error for a record the service delivers in ordinary operation: %v", what, err)
	}
	if d := recordDiff(copyBefore, rec); d != "" {
		s.h.errorf("%s modified its record (%s); records are shared with other exporters and must not be modified", what, d)
	}
	return err
}

// keep remembers a record and its copy, to check it once more at the end,
// unless it was already modified: that is reported once.
func (s *spy) keep(what string, rec, copyBefore any) {
	if recordDiff(copyBefore, reflect.ValueOf(rec).Elem().Interface()) != "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frozen = append(s.frozen, frozen{what: what, got: rec, was: copyBefore})
}

// recheck reports records the exporter modified after its call returned
// (a record it retained, say). Records are compared through the pointers
// kept in frozen.got, which the service never touches again.
func (s *spy) recheck() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.frozen {
		if d := recordDiff(f.was, reflect.ValueOf(f.got).Elem().Interface()); d != "" {
			s.h.errorf("%s: the record was modified after the call returned (%s)", f.what, d)
		}
	}
}

func (s *spy) StartRun(ctx context.Context, run flowtrace.RunStart) (flowtrace.RunExporter, error) {
	if s.shutdowns.Load() > 0 {
		s.h.errorf("service: StartRun of run %s after Shutdown", run.RunID)
	}
	rec := &run
	before := copyRunStart(run)
	what := fmt.Sprintf("StartRun of run %s", run.RunID)
	var re flowtrace.RunExporter
	err := s.call(what, *rec, before, func() (err error) {
		re, err = s.inner.StartRun(ctx, *rec)
		return err
	})
	s.keep(what, rec, before)
	if err == nil && re == nil {
		s.h.errorf("%s returned a nil RunExporter and no error", what)
		err = errors.New("exportertest: nil RunExporter")
	}
	if err != nil {
		s.refusedOnce.Do(func() { close(s.refused) })
		return nil, err
	}
	r := &spyRun{s: s, inner: re, id: run.RunID, comps: make(map[string]bool)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.runs[run.RunID]; dup {
		s.h.errorf("service: StartRun twice for run %s", run.RunID)
	}
	s.runs[run.RunID] = r
	return r, nil
}

func (s *spy) Shutdown(ctx context.Context) error {
	s.shutdowns.Add(1)
	s.mu.Lock()
	for id, r := range s.runs {
		if !r.ended.Load() {
			s.h.errorf("service: Shutdown of the exporter before run %s ended", id)
		}
	}
	s.mu.Unlock()
	err := callSafely(func() error { return s.inner.Shutdown(ctx) })
	if err != nil {
		s.h.errorf("Shutdown returned an error after every run had ended: %v", err)
	}
	return err
}

// run returns the spied RunExporter of run id, or nil.
func (s *spy) run(id string) *spyRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runs[id]
}

// spyRun wraps one RunExporter.
type spyRun struct {
	s     *spy
	inner flowtrace.RunExporter
	id    string

	busy  atomic.Bool
	ended atomic.Bool

	// Guarded by busy (the service calls one at a time; if it did not,
	// that is reported and the fields may race, as the exporter's would).
	comps map[string]bool // component ID → ended
	calls []call          // what the run received, in order
}

// call is one call a RunExporter received.
type call struct {
	kind        string // StartComponent, AddLog, SetOutputs, EndComponent, EndRun
	componentID string
	parentID    string
	err         error // the record's Err (EndComponent, EndRun)
}

// enter marks the run busy, reporting a second goroutine in it, and checks
// the record's place in the run: kind, its component and its run ID.
func (r *spyRun) enter(kind, runID, componentID string) string {
	what := fmt.Sprintf("%s of run %s", kind, r.id)
	if componentID != "" {
		what = fmt.Sprintf("%s of component %s in run %s", kind, componentID, r.id)
	}
	if !r.busy.CompareAndSwap(false, true) {
		r.s.h.errorf("service: %s while another call on the same RunExporter was running", what)
	}
	if r.ended.Load() {
		r.s.h.errorf("service: %s after EndRun", what)
	}
	if runID != r.id {
		r.s.h.errorf("service: %s carries run ID %q", what, runID)
	}
	return what
}

func (r *spyRun) leave() { r.busy.Store(false) }

// open reports, for a record written through component id, a component
// that is not open: the service delivers nothing of a component before its
// start or after its end.
func (r *spyRun) open(what, id string) {
	if id == "" {
		return
	}
	if ended, ok := r.comps[id]; !ok || ended {
		r.s.h.errorf("service: %s, but the component is not open (started %v, ended %v)", what, ok, ended)
	}
}

func (r *spyRun) StartComponent(ctx context.Context, c flowtrace.ComponentStart) error {
	what := r.enter("StartComponent", c.RunID, c.ComponentID)
	defer r.leave()
	if _, dup := r.comps[c.ComponentID]; dup {
		r.s.h.errorf("service: %s twice", what)
	}
	if c.ParentID != "" && !r.s.lossy {
		r.open(what+" (its parent)", c.ParentID)
	}
	r.comps[c.ComponentID] = false
	r.calls = append(r.calls, call{kind: "StartComponent", componentID: c.ComponentID, parentID: c.ParentID})
	if r.s.block != nil {
		r.s.block(c)
	}
	rec, before := &c, copyComponentStart(c)
	defer r.s.keep(what, rec, before)
	return r.s.call(what, *rec, before, func() error { return r.inner.StartComponent(ctx, *rec) })
}

func (r *spyRun) AddLog(ctx context.Context, l flowtrace.LogEntry) error {
	what := r.enter("AddLog", l.RunID, l.ComponentID)
	defer r.leave()
	r.open(what, l.ComponentID)
	r.calls = append(r.calls, call{kind: "AddLog", componentID: l.ComponentID})
	rec, before := &l, copyLogEntry(l)
	defer r.s.keep(what, rec, before)
	return r.s.call(what, *rec, before, func() error { return r.inner.AddLog(ctx, *rec) })
}

func (r *spyRun) SetOutputs(ctx context.Context, o flowtrace.Outputs) error {
	what := r.enter("SetOutputs", o.RunID, o.ComponentID)
	defer r.leave()
	r.open(what, o.ComponentID)
	r.calls = append(r.calls, call{kind: "SetOutputs", componentID: o.ComponentID})
	rec, before := &o, copyOutputs(o)
	defer r.s.keep(what, rec, before)
	return r.s.call(what, *rec, before, func() error { return r.inner.SetOutputs(ctx, *rec) })
}

func (r *spyRun) EndComponent(ctx context.Context, c flowtrace.ComponentEnd) error {
	what := r.enter("EndComponent", c.RunID, c.ComponentID)
	defer r.leave()
	r.open(what, c.ComponentID)
	if c.ComponentID == "" {
		r.s.h.errorf("service: %s with an empty component ID", what)
	}
	r.comps[c.ComponentID] = true
	r.calls = append(r.calls, call{kind: "EndComponent", componentID: c.ComponentID, err: c.Err})
	rec, before := &c, c // no maps: a struct copy is a deep copy
	defer r.s.keep(what, rec, before)
	return r.s.call(what, *rec, before, func() error { return r.inner.EndComponent(ctx, *rec) })
}

func (r *spyRun) EndRun(ctx context.Context, e flowtrace.RunEnd) error {
	what := r.enter("EndRun", e.RunID, "")
	defer r.leave()
	r.calls = append(r.calls, call{kind: "EndRun", err: e.Err})
	rec, before := &e, copyRunEnd(e)
	defer r.s.keep(what, rec, before)
	defer r.ended.Store(true)
	return r.s.call(what, *rec, before, func() error { return r.inner.EndRun(ctx, *rec) })
}

// Copies of records that share nothing mutable with them.

func copyRunStart(r flowtrace.RunStart) flowtrace.RunStart {
	r.Metadata = cloneFields(r.Metadata)
	return r
}

func copyComponentStart(c flowtrace.ComponentStart) flowtrace.ComponentStart {
	c.Inputs = cloneFields(c.Inputs)
	c.Metadata = cloneFields(c.Metadata)
	return c
}

func copyLogEntry(l flowtrace.LogEntry) flowtrace.LogEntry {
	l.Message = values.Clone(l.Message)
	return l
}

func copyOutputs(o flowtrace.Outputs) flowtrace.Outputs {
	o.Values = cloneFields(o.Values)
	return o
}

func copyRunEnd(e flowtrace.RunEnd) flowtrace.RunEnd {
	e.Outputs = cloneFields(e.Outputs)
	return e
}

// cloneFields returns a deep copy of f.
func cloneFields(f flowtrace.Fields) flowtrace.Fields {
	return flowtrace.FieldsOf(values.CloneMap(f.Map()))
}

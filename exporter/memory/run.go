package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/flowtrace/flowtrace"
)

// Run is what the exporter recorded of one run.
//
// The zero value is an empty run. A Run returned by an Exporter is a deep
// copy that belongs to the caller: it may be modified, and is not safe for
// concurrent modification.
type Run struct {
	// Info is the run's start, as delivered.
	Info flowtrace.RunStart
	// Components are the run's components in start order; a component's
	// place in the tree is given by its Info.ParentID.
	Components []Component
	// Logs are the run-level logs (ComponentID empty), in delivery order.
	Logs []flowtrace.LogEntry
	// Outputs are the run-level outputs merged in delivery order, later keys
	// winning, with RunEnd.Outputs merged last. Nil if there were none.
	Outputs map[string]any
	// Inputs are Info.Inputs merged with the run-level inputs set later
	// (SetInputs), later keys winning. Nil if there were none.
	Inputs map[string]any
	// ModelCalls are the model calls recorded at run level.
	ModelCalls []flowtrace.ModelCallRecord
	// Err is RunEnd.Err.
	Err error
	// Ended reports whether EndRun was delivered.
	Ended bool
	// Suspended is RunEnd.Suspended: the run was suspended, to be
	// continued by a run whose Info.Resumed is set.
	Suspended bool
	// End is RunEnd.Time.
	End time.Time
}

// Component is what the exporter recorded of one component.
//
// The zero value is an empty component. Like Run, a Component returned by an
// Exporter belongs to the caller.
type Component struct {
	// Info is the component's start, as delivered.
	Info flowtrace.ComponentStart
	// Logs are the component's logs, in delivery order.
	Logs []flowtrace.LogEntry
	// Outputs are the component's outputs merged in delivery order, later
	// keys winning. Nil if there were none.
	Outputs map[string]any
	// Inputs are Info.Inputs merged with the inputs set later (SetInputs),
	// later keys winning. Nil if there were none.
	Inputs map[string]any
	// ModelCalls are the model calls recorded in the component (its model,
	// usage, messages), in delivery order.
	ModelCalls []flowtrace.ModelCallRecord
	// Err is ComponentEnd.Err, or flowtrace.ErrComponentNotEnded if the run
	// ended before the component's end was delivered.
	Err error
	// Ended reports whether the component ended, by ComponentEnd or by the
	// end of its run.
	Ended bool
	// Suspended is ComponentEnd.Suspended: its run was suspended while it
	// was open.
	Suspended bool
	// End is ComponentEnd.Time, or RunEnd.Time if the run closed it.
	End time.Time
}

// run is a recorded run. It is guarded by its exporter's lock.
type run struct {
	data  Run
	comps map[string]int // component ID → index in data.Components
}

// runExporter records one run into its exporter. The library calls it from
// one goroutine at a time; it still takes the exporter's lock on each
// record because Runs and Run read the same data from other goroutines.
type runExporter struct {
	e *Exporter
	r *run
}

// component returns the open component id of the run, or an error saying
// why the record naming it is refused. The caller holds the lock.
func (r *run) component(runID, id string) (*Component, error) {
	if err := r.accepts(runID); err != nil {
		return nil, err
	}
	i, ok := r.comps[id]
	if !ok {
		return nil, fmt.Errorf("%w: component %q of run %q", ErrUnknownComponent, id, runID)
	}
	c := &r.data.Components[i]
	if c.Ended {
		return nil, fmt.Errorf("%w: component %q of run %q", ErrComponentEnded, id, runID)
	}
	return c, nil
}

// accepts reports why a record of runID is refused, or nil. The caller holds
// the lock.
func (r *run) accepts(runID string) error {
	if runID != r.data.Info.RunID {
		return fmt.Errorf("%w: record of run %q delivered to run %q", ErrWrongRun, runID, r.data.Info.RunID)
	}
	if r.data.Ended {
		return fmt.Errorf("%w: run %q", ErrRunEnded, runID)
	}
	return nil
}

func (x *runExporter) StartComponent(_ context.Context, c flowtrace.ComponentStart) error {
	x.e.mu.Lock()
	defer x.e.mu.Unlock()
	r := x.r
	if err := r.accepts(c.RunID); err != nil {
		return err
	}
	if i, dup := r.comps[c.ComponentID]; dup && !r.data.Components[i].Ended {
		// An ID may be used again once its component has ended (a node of
		// an engine that runs twice); later records name the newest one.
		return fmt.Errorf("%w: component %q of run %q", ErrDuplicateComponent, c.ComponentID, c.RunID)
	}
	if r.comps == nil {
		r.comps = make(map[string]int)
	}
	r.comps[c.ComponentID] = len(r.data.Components)
	r.data.Components = append(r.data.Components, Component{Info: c, Inputs: merge(nil, c.Inputs)})
	return nil
}

// SetInputs records inputs set after a start (flowtrace.InputsExporter).
func (x *runExporter) SetInputs(_ context.Context, in flowtrace.Inputs) error {
	x.e.mu.Lock()
	defer x.e.mu.Unlock()
	if in.ComponentID == "" {
		if err := x.r.accepts(in.RunID); err != nil {
			return err
		}
		x.r.data.Inputs = merge(x.r.data.Inputs, in.Values)
		return nil
	}
	c, err := x.r.component(in.RunID, in.ComponentID)
	if err != nil {
		return err
	}
	c.Inputs = merge(c.Inputs, in.Values)
	return nil
}

// RecordModelCall keeps a model call on its component's record
// (flowtrace.ModelCallExporter).
func (x *runExporter) RecordModelCall(_ context.Context, mc flowtrace.ModelCallRecord) error {
	x.e.mu.Lock()
	defer x.e.mu.Unlock()
	if mc.ComponentID == "" {
		if err := x.r.accepts(mc.RunID); err != nil {
			return err
		}
		x.r.data.ModelCalls = append(x.r.data.ModelCalls, mc)
		return nil
	}
	c, err := x.r.component(mc.RunID, mc.ComponentID)
	if err != nil {
		return err
	}
	c.ModelCalls = append(c.ModelCalls, mc)
	return nil
}

func (x *runExporter) AddLog(_ context.Context, l flowtrace.LogEntry) error {
	x.e.mu.Lock()
	defer x.e.mu.Unlock()
	if l.ComponentID == "" {
		if err := x.r.accepts(l.RunID); err != nil {
			return err
		}
		x.r.data.Logs = append(x.r.data.Logs, l)
		return nil
	}
	c, err := x.r.component(l.RunID, l.ComponentID)
	if err != nil {
		return err
	}
	c.Logs = append(c.Logs, l)
	return nil
}

func (x *runExporter) SetOutputs(_ context.Context, o flowtrace.Outputs) error {
	x.e.mu.Lock()
	defer x.e.mu.Unlock()
	if o.ComponentID == "" {
		if err := x.r.accepts(o.RunID); err != nil {
			return err
		}
		x.r.data.Outputs = merge(x.r.data.Outputs, o.Values)
		return nil
	}
	c, err := x.r.component(o.RunID, o.ComponentID)
	if err != nil {
		return err
	}
	c.Outputs = merge(c.Outputs, o.Values)
	return nil
}

func (x *runExporter) EndComponent(_ context.Context, end flowtrace.ComponentEnd) error {
	x.e.mu.Lock()
	defer x.e.mu.Unlock()
	c, err := x.r.component(end.RunID, end.ComponentID)
	if err != nil {
		return err
	}
	c.Err, c.Ended, c.Suspended, c.End = end.Err, true, end.Suspended, end.Time
	return nil
}

func (x *runExporter) EndRun(_ context.Context, end flowtrace.RunEnd) error {
	x.e.mu.Lock()
	defer x.e.mu.Unlock()
	r := x.r
	if err := r.accepts(end.RunID); err != nil {
		return err
	}
	for i := range r.data.Components {
		if c := &r.data.Components[i]; !c.Ended {
			c.Err, c.Ended, c.End = flowtrace.ErrComponentNotEnded, true, end.Time
		}
	}
	r.data.Outputs = merge(r.data.Outputs, end.Outputs)
	r.data.Err, r.data.Ended, r.data.Suspended, r.data.End = end.Err, true, end.Suspended, end.Time
	return nil
}

// merge sets every key of src in dst, allocating dst on first use. The
// values of src are records, never written again, so they are shared.
func merge(dst map[string]any, src flowtrace.Fields) map[string]any {
	if src.Len() == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string]any, src.Len())
	}
	for k, v := range src.All() {
		dst[k] = v
	}
	return dst
}

package memory

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/flowtrace/flowtrace"
)

var (
	_ flowtrace.Exporter    = (*Exporter)(nil)
	_ flowtrace.RunExporter = (*runExporter)(nil)
)

// Exporter records every run it is given, in memory.
//
// The zero value is ready to use; New returns one. An Exporter is safe for
// concurrent use: runs are delivered to it while Runs, Run, Len, Shutdowns
// and Reset are called from other goroutines. It must not be copied after
// first use.
type Exporter struct {
	// mu guards everything below and every *run reachable from it. Delivery
	// takes it once per record.
	mu        sync.Mutex
	runs      []*run // in StartRun order
	byID      map[string]*run
	shutdowns int
}

// New returns an empty Exporter.
func New() *Exporter { return &Exporter{} }

// Name returns "memory".
func (e *Exporter) Name() string { return "memory" }

// StartRun records the start of a run and returns the RunExporter that
// records the rest of it. It fails with ErrDuplicateRun if a run with the
// same ID was started before (since the last Reset).
func (e *Exporter) StartRun(_ context.Context, info flowtrace.RunStart) (flowtrace.RunExporter, error) {
	r := &run{data: Run{Info: info, Inputs: merge(nil, info.Inputs)}}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, dup := e.byID[info.RunID]; dup {
		return nil, fmt.Errorf("%w: run %q", ErrDuplicateRun, info.RunID)
	}
	if e.byID == nil {
		e.byID = make(map[string]*run)
	}
	e.byID[info.RunID] = r
	e.runs = append(e.runs, r)
	return &runExporter{e: e, r: r}, nil
}

// Shutdown counts the call and returns nil. It does not stop recording:
// records delivered afterwards are still recorded.
func (e *Exporter) Shutdown(context.Context) error {
	e.mu.Lock()
	e.shutdowns++
	e.mu.Unlock()
	return nil
}

// Shutdowns returns how many times Shutdown was called.
func (e *Exporter) Shutdowns() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.shutdowns
}

// Len returns the number of runs started since New or the last Reset,
// ended or not.
func (e *Exporter) Len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.runs)
}

// Reset forgets every run recorded so far. Records still arriving for a
// forgotten run are accepted and discarded with it; a later StartRun may
// reuse its ID. The Shutdown count is kept.
func (e *Exporter) Reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.runs = nil
	e.byID = nil
}

// Runs returns a deep copy of every run started since New or the last
// Reset, in the order StartRun was called.
func (e *Exporter) Runs() []Run {
	e.mu.Lock()
	out := make([]Run, len(e.runs))
	for i, r := range e.runs {
		out[i] = r.snapshot()
	}
	e.mu.Unlock()
	// The snapshots share nothing that delivery still writes, so the deep
	// copy, the costly part, runs without the lock.
	for i := range out {
		out[i].deepen()
	}
	return out
}

// Run returns a deep copy of the run with the given ID. The bool reports
// whether that run was started (since New or the last Reset).
func (e *Exporter) Run(id string) (Run, bool) {
	e.mu.Lock()
	r, ok := e.byID[id]
	var out Run
	if ok {
		out = r.snapshot()
	}
	e.mu.Unlock()
	if !ok {
		return Run{}, false
	}
	out.deepen()
	return out, true
}

// snapshot returns a copy of r that shares with r only what delivery never
// writes again: records, and the first len elements of append-only slices.
// The caller holds the exporter's lock.
func (r *run) snapshot() Run {
	out := r.data
	out.Logs = slices.Clip(r.data.Logs)
	out.Outputs = maps.Clone(r.data.Outputs)
	out.Inputs = maps.Clone(r.data.Inputs)
	out.ModelCalls = slices.Clip(r.data.ModelCalls)
	out.Components = slices.Clone(r.data.Components)
	for i := range out.Components {
		c := &out.Components[i]
		c.Logs = slices.Clip(c.Logs)
		c.Outputs = maps.Clone(c.Outputs)
		c.Inputs = maps.Clone(c.Inputs)
		c.ModelCalls = slices.Clip(c.ModelCalls)
	}
	return out
}

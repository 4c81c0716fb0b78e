package console

import (
	"context"
	"fmt"
	"time"

	"github.com/flowtrace/flowtrace"
)

// maxLogs is how many logs a component (or the run) shows; the others are
// counted.
const maxLogs = 20

// runExporter buffers one run. The library calls it from one goroutine at a
// time, so it needs no lock.
type runExporter struct {
	e    *Exporter
	info flowtrace.RunStart
	root node // the run itself: its logs, top-level components, outputs
	byID map[string]*node
	done bool
}

// node is the run or one of its components.
type node struct {
	start   flowtrace.ComponentStart
	unknown bool   // a placeholder: the component's start was not seen
	items   []item // logs and child components, in arrival order
	logs    int    // logs received, shown or not
	outputs map[string]any
	models  []flowtrace.ModelCallRecord
	ended   bool
	suspend bool // ended suspended (SuspendTracers)
	err     error
	end     time.Time
}

// item is a log or a child component.
type item struct {
	log   flowtrace.LogEntry
	child *node
}

func newRun(e *Exporter, info flowtrace.RunStart) *runExporter {
	return &runExporter{e: e, info: info, byID: make(map[string]*node)}
}

// scope returns the node for component id, the run for "", and a
// placeholder under the run for an ID whose start was not seen.
func (x *runExporter) scope(id string) *node {
	if id == "" {
		return &x.root
	}
	if n, ok := x.byID[id]; ok {
		return n
	}
	n := &node{start: flowtrace.ComponentStart{ComponentID: id}, unknown: true}
	x.byID[id] = n
	x.root.items = append(x.root.items, item{child: n})
	return n
}

func (x *runExporter) closed() error {
	if x.done {
		return fmt.Errorf("%w: run %q", ErrRunEnded, x.info.RunID)
	}
	return nil
}

func (x *runExporter) StartComponent(_ context.Context, c flowtrace.ComponentStart) error {
	if err := x.closed(); err != nil {
		return err
	}
	n := &node{start: c}
	parent := &x.root
	if p, ok := x.byID[c.ParentID]; ok && c.ParentID != "" {
		parent = p
	}
	parent.items = append(parent.items, item{child: n})
	x.byID[c.ComponentID] = n // a reused ID now means the latest start
	return nil
}

func (x *runExporter) AddLog(_ context.Context, l flowtrace.LogEntry) error {
	if err := x.closed(); err != nil {
		return err
	}
	n := x.scope(l.ComponentID)
	n.logs++
	if n.logs <= maxLogs {
		n.items = append(n.items, item{log: l})
	}
	return nil
}

func (x *runExporter) SetOutputs(_ context.Context, o flowtrace.Outputs) error {
	if err := x.closed(); err != nil {
		return err
	}
	n := x.scope(o.ComponentID)
	n.outputs = merge(n.outputs, o.Values)
	return nil
}

// RecordModelCall keeps a model call, shown on its component's line
// (flowtrace.ModelCallExporter).
func (x *runExporter) RecordModelCall(_ context.Context, mc flowtrace.ModelCallRecord) error {
	if err := x.closed(); err != nil {
		return err
	}
	n := x.scope(mc.ComponentID)
	n.models = append(n.models, mc)
	return nil
}

func (x *runExporter) EndComponent(_ context.Context, c flowtrace.ComponentEnd) error {
	if err := x.closed(); err != nil {
		return err
	}
	n := x.scope(c.ComponentID)
	n.ended, n.suspend, n.err, n.end = true, c.Suspended, c.Err, c.Time
	return nil
}

// EndRun prints the run. The run's buffer is released either way; a write
// error is returned.
func (x *runExporter) EndRun(_ context.Context, r flowtrace.RunEnd) error {
	if err := x.closed(); err != nil {
		return err
	}
	x.done = true
	x.root.outputs = merge(x.root.outputs, r.Outputs)
	x.root.ended, x.root.suspend, x.root.err, x.root.end = true, r.Suspended, r.Err, r.Time
	out := render(x.info, &x.root)
	x.root, x.byID = node{}, nil
	return x.e.write(out)
}

// merge sets the keys of src in dst, which the caller owns, allocating it on
// first use.
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

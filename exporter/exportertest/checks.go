package exportertest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flowtrace/flowtrace"
)

// checks are the scenarios of the suite, in the order they run. Besides
// what each one checks, the spy checks every call of every scenario (see
// spy), and each scenario ends with the service's Shutdown, a second
// Shutdown of the exporter, and a last comparison of every record.
var checks = []check{
	{
		name:        "Name",
		explanation: "Name must return the same non-empty string on every call, and a TraceService must accept it",
		run:         checkName,
	},
	{
		name:        "CompleteRun",
		explanation: "a RunExporter must accept every kind of record of a run, nested runs included, without error or panic, and must not modify records",
		run:         checkCompleteRun,
	},
	{
		name:        "OpenComponentsEndedAtRunEnd",
		explanation: "components left open are ended by EndTracers with ErrComponentNotEnded, innermost first, before EndRun; the exporter must accept those ends",
		run:         checkOpenComponents,
	},
	{
		name:        "ConcurrentRuns",
		explanation: "one Exporter serves many runs at once, whose records reach it interleaved; it must keep them apart and be safe for concurrent use",
		run:         checkConcurrentRuns,
	},
	{
		name:        "DroppedRecords",
		explanation: "when a queue overflows, records are dropped: a RunExporter must accept a run with missing records (a component that never ends, a parent it never saw start) and treat EndRun as closing what is still open",
		run:         checkDroppedRecords,
	},
	{
		name:        "ShutdownWithoutRuns",
		explanation: "Shutdown must return nil for an exporter that never received a run, and a second call must return nil without panicking",
		run:         func(h *harness) { h.start() },
	},
}

func checkName(h *harness) {
	for range 3 {
		h.spy.Name() // the spy reports a name that changes
	}
	h.start()
	if got := h.svc.Exporters(); !slices.Equal(got, []string{h.spy.name}) {
		h.errorf("the service lists exporters %q, want [%q]", got, h.spy.name)
	}
}

// sampleValues holds every kind of value a snapshot is made of, from
// caller values of many types.
func sampleValues() map[string]any {
	type address struct {
		City string `json:"city"`
		Zip  int
	}
	return map[string]any{
		"text":    "héllo, 世界",
		"empty":   "",
		"yes":     true,
		"int":     -42,
		"uint":    uint64(1 << 63),
		"float":   3.25,
		"inf":     math.Inf(1),
		"nil":     nil,
		"list":    []any{1, "two", []string{"three"}},
		"nested":  map[string]any{"deeper": map[int]bool{1: true}},
		"noKeys":  map[string]any{},
		"noItems": []int{},
		"struct":  address{City: "Paris", Zip: 75001},
		"time":    time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC),
		"bytes":   []byte("raw"),
		"api_key": "sk-must-be-masked",
	}
}

func checkCompleteRun(h *harness) {
	h.start()
	ctx, ok := h.startRun(h.ctx, flowtrace.RunInfo{
		RunName: "complete", ProjectName: "exportertest", UserID: "u1", SessionID: "s1",
		Metadata: map[string]any{"env": "test", "tags": []string{"a", "b"}},
	})
	if !ok {
		return
	}
	svc := h.svc
	svc.AddLog(ctx, flowtrace.Log{Name: "run log", Message: "starting", Type: "text"})
	lctx, llm := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "llm", Type: "llm", Inputs: sampleValues(), Metadata: map[string]any{"model": "m1"}})
	svc.AddLog(lctx, flowtrace.Log{Name: "prompt", Message: map[string]any{"role": "user", "content": "hi"}, Type: "chat"})
	svc.AddLog(lctx, flowtrace.Log{Name: "no message"})
	tctx, tool := svc.TraceComponent(lctx, flowtrace.ComponentInfo{ID: "tool-1", Name: "tool", Type: "tool"})
	svc.SetOutputs(tctx, map[string]any{"result": []any{1, 2}})

	// A run started inside a component: a flow used as a tool.
	nctx, ok := h.startRun(tctx, flowtrace.RunInfo{RunName: "nested"})
	if ok {
		_, inner := svc.TraceComponent(nctx, flowtrace.ComponentInfo{Name: "inner"})
		inner.End(nil)
		_, ok = h.endRun(nctx, map[string]any{"nested": true}, nil, false)
	}

	tool.End(errors.New("tool failed"))
	svc.SetOutputs(lctx, map[string]any{"text": "hello"})
	svc.SetOutputs(lctx, map[string]any{"tokens": 3, "text": "hello again"})
	llm.End(nil)
	svc.SetOutputs(ctx, map[string]any{})
	svc.SetOutputs(ctx, sampleValues())
	sum, ended := h.endRun(ctx, map[string]any{"answer": "hello"}, errors.New("run failed"), false)
	if !ended {
		return // reported; the run may still be delivering
	}

	llmID := componentID(lctx)
	h.wantCalls(sum.RunID, []call{
		{kind: "AddLog"},
		{kind: "StartComponent", componentID: llmID},
		{kind: "AddLog", componentID: llmID},
		{kind: "AddLog", componentID: llmID},
		{kind: "StartComponent", componentID: "tool-1", parentID: llmID},
		{kind: "SetOutputs", componentID: "tool-1"},
		{kind: "EndComponent", componentID: "tool-1"},
		{kind: "SetOutputs", componentID: llmID},
		{kind: "SetOutputs", componentID: llmID},
		{kind: "EndComponent", componentID: llmID},
		{kind: "SetOutputs"},
		{kind: "SetOutputs"},
		{kind: "EndRun"},
	})
	if ok { // the nested run ended: its calls are complete too
		h.wantCalls(runID(nctx), []call{
			{kind: "StartComponent", componentID: componentIDOfFirst(h, runID(nctx))},
			{kind: "EndComponent", componentID: componentIDOfFirst(h, runID(nctx))},
			{kind: "EndRun"},
		})
	}
}

func checkOpenComponents(h *harness) {
	h.start()
	ctx, ok := h.startRun(h.ctx, flowtrace.RunInfo{RunName: "open components"})
	if !ok {
		return
	}
	svc := h.svc
	octx, _ := svc.TraceComponent(ctx, flowtrace.ComponentInfo{ID: "outer", Name: "outer"})
	ictx, _ := svc.TraceComponent(octx, flowtrace.ComponentInfo{ID: "inner", Name: "inner"})
	svc.AddLog(ictx, flowtrace.Log{Name: "last words", Message: "still running"})
	_, done := svc.TraceComponent(ctx, flowtrace.ComponentInfo{ID: "done", Name: "done"})
	done.End(nil)
	sum, ended := h.endRun(ctx, map[string]any{"partial": true}, nil, false)
	if !ended {
		return // reported; the run may still be delivering
	}

	r := h.spy.run(sum.RunID)
	if r == nil {
		h.errorf("run %s never reached the exporter", sum.RunID)
		return
	}
	h.wantCalls(sum.RunID, []call{
		{kind: "StartComponent", componentID: "outer"},
		{kind: "StartComponent", componentID: "inner", parentID: "outer"},
		{kind: "AddLog", componentID: "inner"},
		{kind: "StartComponent", componentID: "done"},
		{kind: "EndComponent", componentID: "done"},
		{kind: "EndComponent", componentID: "inner"},
		{kind: "EndComponent", componentID: "outer"},
		{kind: "EndRun"},
	})
	for _, c := range r.calls {
		if c.kind != "EndComponent" {
			continue
		}
		if open := c.componentID != "done"; open != errors.Is(c.err, flowtrace.ErrComponentNotEnded) {
			h.errorf("service: EndComponent of %s has error %v; only components left open end with ErrComponentNotEnded", c.componentID, c.err)
		}
	}
}

func checkConcurrentRuns(h *harness) {
	h.start()
	n := h.cfg.runs
	const steps = 5
	// Every run opens a component, then waits for all the others to have
	// done so; then they log and set outputs at once, and end in the
	// reverse order of their start, so that the records of all runs are
	// interleaved on the exporter.
	var ready sync.WaitGroup
	ready.Add(n)
	all := make(chan struct{})
	ended := make([]chan struct{}, n+1)
	for i := range ended {
		ended[i] = make(chan struct{})
	}
	close(ended[n])
	ids := make([]string, n)
	// delivered[i] is set once EndTracers of run i returned nil: only then
	// may its calls be read (see endRun).
	delivered := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(ended[i])
			var once sync.Once
			defer once.Do(ready.Done)
			ctx, ok := h.startRun(h.ctx, flowtrace.RunInfo{RunName: fmt.Sprint("run ", i), Metadata: map[string]any{"i": i}})
			if !ok {
				return
			}
			ids[i] = runID(ctx)
			cctx, c := h.svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "step", Inputs: map[string]any{"i": i}})
			once.Do(ready.Done)
			select {
			case <-all:
			case <-h.ctx.Done():
				h.errorf("run %d: the check's deadline passed while it waited for the other runs to start", i)
				return
			}
			for j := range steps {
				h.svc.AddLog(cctx, flowtrace.Log{Name: "progress", Message: map[string]any{"run": i, "step": j}})
				h.svc.SetOutputs(cctx, map[string]any{"step": j})
			}
			kctx, child := h.svc.TraceComponent(cctx, flowtrace.ComponentInfo{Name: "child"})
			h.svc.AddLog(kctx, flowtrace.Log{Message: i})
			if i%2 == 0 {
				child.End(nil) // odd runs leave it to EndTracers
			}
			c.End(nil)
			select {
			case <-ended[i+1]:
			case <-h.ctx.Done():
				h.errorf("run %d: the check's deadline passed while it waited for run %d to end", i, i+1)
				return
			}
			_, delivered[i] = h.endRun(ctx, map[string]any{"i": i}, nil, false)
		}()
	}
	ready.Wait()
	close(all)
	wg.Wait()

	const calls = 1 + 2*steps + 4 + 1 // step, logs and outputs, child and its log and ends, EndRun
	for i, id := range ids {
		r := h.spy.run(id)
		switch {
		case id == "":
		case !delivered[i]:
			// reported: not started, not ended, or still delivering
		case r == nil:
			h.errorf("run %d (%s) never reached the exporter", i, id)
		case len(r.calls) != calls:
			h.errorf("run %d (%s): the exporter received %d calls, want %d", i, id, len(r.calls), calls)
		}
	}
}

func checkDroppedRecords(h *harness) {
	h.expect(flowtrace.ErrQueueFull)
	h.spy.lossy = true
	// The spy holds the delivery goroutine twice, in the StartComponent of
	// "blocker" and of "b": while it is held the queue fills and overflows.
	held := map[string]chan struct{}{"blocker": make(chan struct{}), "b": make(chan struct{})}
	release := map[string]chan struct{}{"blocker": make(chan struct{}), "b": make(chan struct{})}
	h.spy.block = func(c flowtrace.ComponentStart) {
		if held[c.Name] == nil {
			return
		}
		close(held[c.Name])
		select {
		case <-release[c.Name]:
		case <-h.ctx.Done():
		}
	}
	wait := func(name string) bool {
		select {
		case <-held[name]:
			return true
		case <-h.spy.refused:
			return false // reported by the spy
		case <-h.ctx.Done():
			h.errorf("service: the start of component %q never reached the exporter", name)
			return false
		}
	}
	let := func(name string) {
		select {
		case release[name] <- struct{}{}:
		case <-h.ctx.Done():
		}
	}
	// The smallest queue, and an export timeout no shorter than the spy's
	// hold, which ends with the check's deadline at the latest. (Not
	// longer either: it is also what the exporter's Shutdown gets once
	// that deadline has passed.)
	h.start(flowtrace.WithQueueSize(2), flowtrace.WithExportTimeout(h.cfg.timeout))
	ctx, ok := h.startRun(h.ctx, flowtrace.RunInfo{RunName: "overflow"})
	if !ok {
		return
	}
	svc := h.svc
	_, _ = svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "blocker"}) // left open
	if !wait("blocker") {
		return
	}
	bctx, b := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "b"})
	for i := range 64 {
		svc.AddLog(bctx, flowtrace.Log{Name: "flood", Message: i})
		svc.SetOutputs(bctx, map[string]any{"i": i})
	}
	b.End(nil)                                                             // dropped: b never ends on the exporter
	cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c"}) // dropped
	svc.AddLog(cctx, flowtrace.Log{Message: "of a component whose start was dropped"})
	let("blocker")
	if !wait("b") {
		return
	}
	// b's start has left the queue: d's start finds room, and names a
	// parent the exporter never saw start.
	dctx, d := svc.TraceComponent(cctx, flowtrace.ComponentInfo{Name: "d"})
	svc.AddLog(dctx, flowtrace.Log{Message: "under a parent the exporter never saw"})
	d.End(nil)
	c.End(nil)
	let("b")
	sum, _ := h.endRun(ctx, map[string]any{"done": true}, nil, true)
	if d := sum.Exporters[h.spy.name]; d.Dropped == 0 {
		h.errorf("service: nothing was dropped from a queue of 2 while its delivery was held: %+v", d)
	}
}

// wantCalls reports the difference between the calls run id received and
// want. The run's EndTracers must have returned nil (see endRun): before
// that, its delivery goroutine may still be appending to them.
func (h *harness) wantCalls(id string, want []call) {
	r := h.spy.run(id)
	if r == nil {
		h.errorf("run %s never reached the exporter", id)
		return
	}
	got := make([]call, len(r.calls))
	for i, c := range r.calls {
		c.err = nil
		got[i] = c
	}
	if !slices.Equal(got, want) {
		h.errorf("service: run %s delivered\n\t%s\nwant\n\t%s", id, formatCalls(got), formatCalls(want))
	}
}

func formatCalls(cs []call) string {
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.kind)
		if c.componentID != "" {
			fmt.Fprintf(&b, "(%s)", c.componentID)
		}
	}
	return b.String()
}

func runID(ctx context.Context) string {
	rc, _ := flowtrace.RunFromContext(ctx)
	return rc.RunID()
}

func componentID(ctx context.Context) string {
	cc, _ := flowtrace.ComponentFromContext(ctx)
	return cc.ID()
}

// componentIDOfFirst returns the ID of the first component run id started,
// for a component whose ctx a check did not keep.
func componentIDOfFirst(h *harness, id string) string {
	if r := h.spy.run(id); r != nil && len(r.calls) > 0 {
		return r.calls[0].componentID
	}
	return ""
}

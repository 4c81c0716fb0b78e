package flowtrace_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

// TestPausedRunKeepsItsData is the failure flowtrace is built against: run 1
// pauses inside a component, run 2 starts, runs and ends, run 1 resumes.
// Every record must land on the run that wrote it.
func TestPausedRunKeepsItsData(t *testing.T) {
	svc, rec, errs := newService(t)
	paused := make(chan struct{})
	resume := make(chan struct{})
	done1 := make(chan context.Context)

	go func() {
		ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "run-1", UserID: "u1", SessionID: "s1"})
		if err != nil {
			panic(err)
		}
		cctx, comp := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "slow-llm", Type: "llm"})
		close(paused)
		<-resume // awaiting the LLM
		svc.AddLog(cctx, flowtrace.Log{Name: "answer", Message: "from run 1"})
		svc.SetOutputs(cctx, map[string]any{"owner": "run-1"})
		comp.End(nil)
		svc.SetOutputs(ctx, map[string]any{"final": "run-1"})
		done1 <- ctx
	}()

	<-paused
	ctx2, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "run-2", UserID: "u2", SessionID: "s2"})
	require.NoError(t, err)
	for i := range 3 {
		cctx, comp := svc.TraceComponent(ctx2, flowtrace.ComponentInfo{Name: fmt.Sprintf("step-%d", i)})
		svc.AddLog(cctx, flowtrace.Log{Name: "log", Message: "from run 2"})
		svc.SetOutputs(cctx, map[string]any{"owner": "run-2"})
		comp.End(nil)
	}
	sum2, err := svc.EndTracers(ctx2, map[string]any{"final": "run-2"}, nil)
	require.NoError(t, err)
	requireBalanced(t, sum2)

	close(resume)
	ctx1 := <-done1
	sum1, err := svc.EndTracers(ctx1, nil, nil)
	require.NoError(t, err)
	requireBalanced(t, sum1)

	run1, _ := rec.Run(runID(t, ctx1))
	run2, _ := rec.Run(runID(t, ctx2))
	require.Len(t, run1.Components, 1)
	assert.Equal(t, "slow-llm", run1.Components[0].Info.Name)
	assert.Equal(t, "from run 1", run1.Components[0].Logs[0].Message)
	assert.Equal(t, map[string]any{"owner": "run-1"}, run1.Components[0].Outputs)
	assert.Equal(t, map[string]any{"final": "run-1"}, run1.Outputs)
	assert.Equal(t, "u1", run1.Info.UserID)
	require.Len(t, run2.Components, 3, "run 2 got none of run 1's components")
	for _, c := range run2.Components {
		assert.Equal(t, run2.Info.RunID, c.Info.RunID)
		assert.Equal(t, "from run 2", c.Logs[0].Message)
		assert.Equal(t, map[string]any{"owner": "run-2"}, c.Outputs)
	}
	assert.Equal(t, map[string]any{"final": "run-2"}, run2.Outputs)
	assert.Empty(t, errs.all())
}

// TestConcurrentRunsStayIsolated runs 1,000 runs at once, each with parallel
// child components interleaved at random, and checks every record of every
// run carries only that run's data and the right parents.
func TestConcurrentRunsStayIsolated(t *testing.T) {
	const runs, children = 1000, 4
	// About 20,000 events in one burst, more than the default queue holds
	// when the race detector slows the worker: this test is about
	// isolation, so callers wait for room rather than drop.
	svc, rec, errs := newService(t, flowtrace.WithOverflow(flowtrace.BlockFor(testDeadline)))
	var wg sync.WaitGroup
	ids := make([]string, runs)
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: fmt.Sprint("run-", i), UserID: fmt.Sprint("user-", i)})
			if !assert.NoError(t, err) {
				return
			}
			ids[i] = runID(t, ctx)
			pctx, parent := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "parent", Inputs: map[string]any{"run": i}})
			var cwg sync.WaitGroup
			for j := range children {
				cwg.Add(1)
				go func() {
					defer cwg.Done()
					if rand.IntN(2) == 0 {
						runtime.Gosched()
					}
					cctx, c := svc.TraceComponent(pctx, flowtrace.ComponentInfo{Name: fmt.Sprint("child-", j), Inputs: map[string]any{"run": i}})
					svc.AddLog(cctx, flowtrace.Log{Name: "log", Message: map[string]any{"run": i, "child": j}})
					if rand.IntN(2) == 0 {
						runtime.Gosched()
					}
					svc.SetOutputs(cctx, map[string]any{"run": i})
					c.End(nil)
				}()
			}
			cwg.Wait()
			parent.End(nil)
			sum, err := svc.EndTracers(ctx, map[string]any{"run": i}, nil)
			if assert.NoError(t, err) {
				requireBalanced(t, sum)
				assert.Equal(t, 1+children, sum.Components)
			}
		}()
	}
	wg.Wait()
	require.Empty(t, errs.all())
	require.Len(t, rec.Runs(), runs)
	for i, id := range ids {
		run, ok := rec.Run(id)
		require.True(t, ok)
		require.Equal(t, fmt.Sprint("run-", i), run.Info.RunName)
		require.Equal(t, fmt.Sprint("user-", i), run.Info.UserID)
		require.Equal(t, map[string]any{"run": int64(i)}, run.Outputs)
		require.Len(t, run.Components, 1+children)
		parent := component(t, run, "parent")
		for _, c := range run.Components {
			require.Equal(t, id, c.Info.RunID, "component of run %d", i)
			require.Equal(t, int64(i), c.Info.Inputs.Map()["run"], "inputs of run %d", i)
			require.True(t, c.Ended)
			if c.Info.Name == "parent" {
				continue
			}
			require.Equal(t, parent.Info.ComponentID, c.Info.ParentID, "parent of %s in run %d", c.Info.Name, i)
			require.Len(t, c.Logs, 1)
			require.Equal(t, int64(i), c.Logs[0].Message.(map[string]any)["run"])
			require.Equal(t, map[string]any{"run": int64(i)}, c.Outputs)
		}
	}
}

// TestFanOutComponentLogsConcurrently has one component's goroutines log
// through the same ctx at once.
func TestFanOutComponentLogsConcurrently(t *testing.T) {
	const workers, logs = 32, 50
	svc, rec, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	cctx, comp := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "fan-out"})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range logs {
				svc.AddLog(cctx, flowtrace.Log{Name: "w", Message: w*logs + i})
			}
			svc.SetOutputs(cctx, map[string]any{fmt.Sprint("w", w): true})
		}()
	}
	wg.Wait()
	comp.End(nil)
	sum, err := svc.EndTracers(ctx, nil, nil)
	require.NoError(t, err)
	requireBalanced(t, sum)

	run, _ := rec.Run(runID(t, ctx))
	c := run.Components[0]
	require.Len(t, c.Logs, workers*logs, "every concurrent log is recorded")
	seen := make(map[int64]bool)
	for _, l := range c.Logs {
		seen[l.Message.(int64)] = true
	}
	assert.Len(t, seen, workers*logs, "each log once")
	assert.Len(t, c.Outputs, workers, "concurrent outputs merge")
}

// plainExporter is deliberately not safe for concurrent use inside a run:
// its RunExporter keeps plain maps and counters, relying on the contract
// that the library calls a RunExporter from one goroutine at a time. The
// shared part (the list of finished runs) is guarded, as the contract asks.
type plainExporter struct {
	name     string
	mu       sync.Mutex
	finished map[string]*plainRun
	overlaps atomic.Int64
}

type plainRun struct {
	owner      *plainExporter
	busy       atomic.Bool // detects two calls at once
	components map[string]string
	logs       map[string]int
	events     int
	ended      bool
}

func newPlainExporter(name string) *plainExporter {
	return &plainExporter{name: name, finished: make(map[string]*plainRun)}
}

func (e *plainExporter) Name() string { return e.name }
func (e *plainExporter) StartRun(context.Context, flowtrace.RunStart) (flowtrace.RunExporter, error) {
	return &plainRun{owner: e, components: map[string]string{}, logs: map[string]int{}}, nil
}
func (e *plainExporter) Shutdown(context.Context) error { return nil }

func (r *plainRun) enter() func() {
	if !r.busy.CompareAndSwap(false, true) {
		r.owner.overlaps.Add(1)
	}
	r.events++
	return func() { r.busy.Store(false) }
}

func (r *plainRun) StartComponent(_ context.Context, c flowtrace.ComponentStart) error {
	defer r.enter()()
	r.components[c.ComponentID] = "open"
	return nil
}
func (r *plainRun) AddLog(_ context.Context, l flowtrace.LogEntry) error {
	defer r.enter()()
	r.logs[l.ComponentID]++
	return nil
}
func (r *plainRun) SetOutputs(context.Context, flowtrace.Outputs) error {
	defer r.enter()()
	return nil
}
func (r *plainRun) EndComponent(_ context.Context, c flowtrace.ComponentEnd) error {
	defer r.enter()()
	if r.components[c.ComponentID] != "open" {
		return fmt.Errorf("end of %s before its start", c.ComponentID)
	}
	r.components[c.ComponentID] = "ended"
	return nil
}
func (r *plainRun) EndRun(_ context.Context, end flowtrace.RunEnd) error {
	defer r.enter()()
	r.ended = true
	r.owner.mu.Lock()
	r.owner.finished[end.RunID] = r
	r.owner.mu.Unlock()
	return nil
}

// TestRunExporterIsCalledSerially drives 1,000 concurrent runs whose
// components each fan out to 8 parallel children into an exporter with
// plain maps: the race detector must stay silent and no two calls on one
// RunExporter may overlap.
func TestRunExporterIsCalledSerially(t *testing.T) {
	const runs, fan = 1000, 8
	plain := newPlainExporter("plain")
	// Waiting for room instead of dropping keeps every record, so that the
	// check below covers every component of every run.
	svc, _, errs := newService(t, flowtrace.WithExporter(plain), flowtrace.WithOverflow(flowtrace.BlockFor(testDeadline)))
	var wg sync.WaitGroup
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: fmt.Sprint(i)})
			if !assert.NoError(t, err) {
				return
			}
			pctx, parent := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "parent"})
			var cwg sync.WaitGroup
			for j := range fan {
				cwg.Add(1)
				go func() {
					defer cwg.Done()
					cctx, c := svc.TraceComponent(pctx, flowtrace.ComponentInfo{Name: fmt.Sprint(j)})
					svc.AddLog(cctx, flowtrace.Log{Name: "l", Message: j})
					c.End(nil)
				}()
			}
			cwg.Wait()
			parent.End(nil)
			sum, err := svc.EndTracers(ctx, nil, nil)
			if assert.NoError(t, err) {
				assert.Equal(t, flowtrace.Delivery{Emitted: 2 + 2 + fan*3, Delivered: 2 + 2 + fan*3}, sum.Exporters["plain"])
			}
		}()
	}
	wg.Wait()
	assert.Zero(t, plain.overlaps.Load(), "two calls on one RunExporter overlapped")
	assert.Empty(t, errs.all())
	plain.mu.Lock()
	defer plain.mu.Unlock()
	require.Len(t, plain.finished, runs)
	for id, r := range plain.finished {
		require.True(t, r.ended)
		require.Len(t, r.components, 1+fan, "run %s", id)
		for cid, state := range r.components {
			require.Equal(t, "ended", state, "component %s of run %s", cid, id)
		}
	}
}

// TestBurstFromManyRunsLosesNothing sends 10,000 events from 300 concurrent
// runs to a fast exporter with the default queue: nothing may be dropped.
func TestBurstFromManyRunsLosesNothing(t *testing.T) {
	const runs, events = 300, 10000
	svc, rec, _ := newService(t)
	start := make(chan struct{})
	var wg sync.WaitGroup
	var total atomic.Int64
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
			if !assert.NoError(t, err) {
				return
			}
			<-start
			n := events / runs
			if i < events%runs {
				n++
			}
			for k := range n {
				svc.AddLog(ctx, flowtrace.Log{Name: "burst", Message: k})
			}
			total.Add(int64(n))
			sum, err := svc.EndTracers(ctx, nil, nil)
			if assert.NoError(t, err) {
				assert.Zero(t, sum.Exporters["memory"].Dropped, "a burst within the default queue drops nothing")
			}
		}()
	}
	close(start)
	wg.Wait()
	require.Equal(t, int64(events), total.Load())
	logs := 0
	for _, r := range rec.Runs() {
		logs += len(r.Logs)
	}
	assert.Equal(t, events, logs)
	st := svc.Stats()
	assert.Zero(t, st.Exporters["memory"].Dropped)
	requireStatsBalanced(t, st)
}

var _ flowtrace.Exporter = (*plainExporter)(nil)
var _ = memory.New

// TestFirstLogAndOutputsRaceForTheirSlots has a component's first log and
// first outputs written at once from two goroutines, many times over: each
// claims a slot kept with the component's end (made by whichever comes
// first, with room for a log only when a log made it), and neither may
// lose, share or overwrite the other's record.
func TestFirstLogAndOutputsRaceForTheirSlots(t *testing.T) {
	const comps = 200
	svc, rec, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	for i := range comps {
		cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: fmt.Sprint("c", i)})
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			<-start
			svc.AddLog(cctx, flowtrace.Log{Name: "first", Message: i})
			svc.AddLog(cctx, flowtrace.Log{Name: "second", Message: -i})
		})
		wg.Go(func() {
			<-start
			svc.SetOutputs(cctx, map[string]any{"i": i})
			svc.SetOutputs(cctx, map[string]any{"j": -i})
		})
		close(start)
		wg.Wait()
		c.End(nil)
	}
	sum, err := svc.EndTracers(ctx, nil, nil)
	require.NoError(t, err)
	requireBalanced(t, sum)
	run, _ := rec.Run(runID(t, ctx))
	require.Len(t, run.Components, comps)
	for i, c := range run.Components {
		require.Len(t, c.Logs, 2, "component %d keeps both logs", i)
		byName := map[string]any{}
		for _, l := range c.Logs {
			byName[l.Name] = l.Message
		}
		assert.Equal(t, map[string]any{"first": int64(i), "second": int64(-i)}, byName, "component %d's logs are its own", i)
		assert.Equal(t, map[string]any{"i": int64(i), "j": int64(-i)}, c.Outputs, "component %d's outputs merge, none lost", i)
		assert.True(t, c.Ended, "component %d ended", i)
	}
}

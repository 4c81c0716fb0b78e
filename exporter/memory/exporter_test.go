package memory_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
	"github.com/flowtrace/flowtrace/internal/values"
)

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func start(t *testing.T, e *memory.Exporter, id string) flowtrace.RunExporter {
	t.Helper()
	re, err := e.StartRun(context.Background(), flowtrace.RunStart{RunID: id, RunName: "run " + id, Time: at(0)})
	require.NoError(t, err, "StartRun of a new run %q", id)
	require.NotNil(t, re, "StartRun returns a RunExporter")
	return re
}

func TestName(t *testing.T) {
	assert.Equal(t, "memory", memory.New().Name())
}

func TestRecordsAWholeRun(t *testing.T) {
	ctx := context.Background()
	e := memory.New()
	info := flowtrace.RunStart{RunID: "r1", RunName: "support-bot", UserID: "u1", Metadata: flowtrace.FieldsOf(map[string]any{"tier": "gold"}), TraceID: [16]byte{1}, Time: at(0)}
	re, err := e.StartRun(ctx, info)
	require.NoError(t, err)

	agent := flowtrace.ComponentStart{RunID: "r1", ComponentID: "a", Name: "agent", Type: "agent", Inputs: flowtrace.FieldsOf(map[string]any{"q": "capital?"}), Time: at(1)}
	tool := flowtrace.ComponentStart{RunID: "r1", ComponentID: "t", ParentID: "a", Name: "search", Type: "tool", Time: at(2)}
	toolLog := flowtrace.LogEntry{RunID: "r1", ComponentID: "t", Name: "http", Message: map[string]any{"status": int64(503)}, Time: at(3)}
	runLog := flowtrace.LogEntry{RunID: "r1", Name: "note", Message: "half way", Time: at(4)}
	toolErr := errors.New("timeout")
	steps := []func() error{
		func() error { return re.StartComponent(ctx, agent) },
		func() error { return re.StartComponent(ctx, tool) },
		func() error { return re.AddLog(ctx, toolLog) },
		func() error {
			return re.EndComponent(ctx, flowtrace.ComponentEnd{RunID: "r1", ComponentID: "t", Err: toolErr, Time: at(5)})
		},
		func() error { return re.AddLog(ctx, runLog) },
		func() error {
			return re.SetOutputs(ctx, flowtrace.Outputs{RunID: "r1", ComponentID: "a", Values: flowtrace.FieldsOf(map[string]any{"text": "Par", "tokens": int64(1)})})
		},
		func() error {
			return re.SetOutputs(ctx, flowtrace.Outputs{RunID: "r1", ComponentID: "a", Values: flowtrace.FieldsOf(map[string]any{"text": "Paris"})})
		},
		func() error {
			return re.EndComponent(ctx, flowtrace.ComponentEnd{RunID: "r1", ComponentID: "a", Time: at(6)})
		},
		func() error {
			return re.SetOutputs(ctx, flowtrace.Outputs{RunID: "r1", Values: flowtrace.FieldsOf(map[string]any{"answer": "draft", "score": 0.5})})
		},
		func() error {
			return re.EndRun(ctx, flowtrace.RunEnd{RunID: "r1", Outputs: flowtrace.FieldsOf(map[string]any{"answer": "Paris"}), Time: at(7)})
		},
	}
	for i, step := range steps {
		require.NoError(t, step(), "step %d of a well-formed run must be accepted", i)
	}

	want := memory.Run{
		Info: info,
		Components: []memory.Component{
			{Info: agent, Inputs: map[string]any{"q": "capital?"}, Outputs: map[string]any{"text": "Paris", "tokens": int64(1)}, Ended: true, End: at(6)},
			{Info: tool, Logs: []flowtrace.LogEntry{toolLog}, Err: toolErr, Ended: true, End: at(5)},
		},
		Logs:    []flowtrace.LogEntry{runLog},
		Outputs: map[string]any{"answer": "Paris", "score": 0.5},
		Ended:   true,
		End:     at(7),
	}
	got, ok := e.Run("r1")
	require.True(t, ok, "Run must find a started run")
	assert.Equal(t, want, got, "components in start order, outputs merged with later keys winning, RunEnd.Outputs last")
	assert.Equal(t, []memory.Run{want}, e.Runs())
}

func TestEndRunClosesOpenComponents(t *testing.T) {
	ctx := context.Background()
	e := memory.New()
	re := start(t, e, "r")
	require.NoError(t, re.StartComponent(ctx, flowtrace.ComponentStart{RunID: "r", ComponentID: "open", Time: at(1)}))
	require.NoError(t, re.StartComponent(ctx, flowtrace.ComponentStart{RunID: "r", ComponentID: "closed", Time: at(1)}))
	require.NoError(t, re.EndComponent(ctx, flowtrace.ComponentEnd{RunID: "r", ComponentID: "closed", Time: at(2)}))
	runErr := errors.New("boom")
	require.NoError(t, re.EndRun(ctx, flowtrace.RunEnd{RunID: "r", Err: runErr, Time: at(9)}))

	run, _ := e.Run("r")
	assert.True(t, run.Ended)
	assert.Equal(t, runErr, run.Err, "Run.Err is RunEnd.Err")
	assert.Nil(t, run.Outputs, "a run without outputs has nil Outputs")
	require.Len(t, run.Components, 2)
	open, closed := run.Components[0], run.Components[1]
	assert.True(t, open.Ended, "EndRun closes a component whose end was not delivered")
	assert.ErrorIs(t, open.Err, flowtrace.ErrComponentNotEnded)
	assert.Equal(t, at(9), open.End, "a component closed by EndRun ends when the run ends")
	assert.NoError(t, closed.Err, "a component that ended keeps its own end")
	assert.Equal(t, at(2), closed.End)
}

func TestRefusedRecords(t *testing.T) {
	ctx := context.Background()
	cs := func(id string) flowtrace.ComponentStart { return flowtrace.ComponentStart{RunID: "r", ComponentID: id} }
	log := func(id string) flowtrace.LogEntry { return flowtrace.LogEntry{RunID: "r", ComponentID: id, Name: "l"} }
	out := func(id string) flowtrace.Outputs {
		return flowtrace.Outputs{RunID: "r", ComponentID: id, Values: flowtrace.FieldsOf(map[string]any{"k": "v"})}
	}
	ce := func(id string) flowtrace.ComponentEnd { return flowtrace.ComponentEnd{RunID: "r", ComponentID: id} }
	for _, tc := range []struct {
		name   string
		record func(re flowtrace.RunExporter) error
		want   error
	}{
		{"log for unknown component", func(re flowtrace.RunExporter) error { return re.AddLog(ctx, log("nope")) }, memory.ErrUnknownComponent},
		{"outputs for unknown component", func(re flowtrace.RunExporter) error { return re.SetOutputs(ctx, out("nope")) }, memory.ErrUnknownComponent},
		{"end of unknown component", func(re flowtrace.RunExporter) error { return re.EndComponent(ctx, ce("nope")) }, memory.ErrUnknownComponent},
		{"second start of a component", func(re flowtrace.RunExporter) error { return re.StartComponent(ctx, cs("open")) }, memory.ErrDuplicateComponent},
		{"log after component end", func(re flowtrace.RunExporter) error { return re.AddLog(ctx, log("ended")) }, memory.ErrComponentEnded},
		{"outputs after component end", func(re flowtrace.RunExporter) error { return re.SetOutputs(ctx, out("ended")) }, memory.ErrComponentEnded},
		{"second component end", func(re flowtrace.RunExporter) error { return re.EndComponent(ctx, ce("ended")) }, memory.ErrComponentEnded},
		{"record of another run", func(re flowtrace.RunExporter) error {
			return re.AddLog(ctx, flowtrace.LogEntry{RunID: "other", Name: "l"})
		}, memory.ErrWrongRun},
		{"end of another run", func(re flowtrace.RunExporter) error {
			return re.EndRun(ctx, flowtrace.RunEnd{RunID: "other"})
		}, memory.ErrWrongRun},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := memory.New()
			re := start(t, e, "r")
			require.NoError(t, re.StartComponent(ctx, cs("open")))
			require.NoError(t, re.StartComponent(ctx, cs("ended")))
			require.NoError(t, re.EndComponent(ctx, ce("ended")))
			before, _ := e.Run("r")

			err := tc.record(re)
			require.ErrorIs(t, err, tc.want, "the record must be refused with %v", tc.want)
			after, _ := e.Run("r")
			assert.Equal(t, before, after, "a refused record changes nothing")
		})
	}

	afterEnd := []struct {
		name   string
		record func(re flowtrace.RunExporter) error
	}{
		{"StartComponent", func(re flowtrace.RunExporter) error { return re.StartComponent(ctx, cs("late")) }},
		{"run-level AddLog", func(re flowtrace.RunExporter) error { return re.AddLog(ctx, log("")) }},
		{"component AddLog", func(re flowtrace.RunExporter) error { return re.AddLog(ctx, log("c")) }},
		{"run-level SetOutputs", func(re flowtrace.RunExporter) error { return re.SetOutputs(ctx, out("")) }},
		{"component SetOutputs", func(re flowtrace.RunExporter) error { return re.SetOutputs(ctx, out("c")) }},
		{"EndComponent", func(re flowtrace.RunExporter) error { return re.EndComponent(ctx, ce("c")) }},
		{"EndRun", func(re flowtrace.RunExporter) error { return re.EndRun(ctx, flowtrace.RunEnd{RunID: "r"}) }},
	}
	for _, tc := range afterEnd {
		t.Run(tc.name+" after EndRun", func(t *testing.T) {
			e := memory.New()
			re := start(t, e, "r")
			require.NoError(t, re.StartComponent(ctx, cs("c")))
			require.NoError(t, re.EndRun(ctx, flowtrace.RunEnd{RunID: "r", Time: at(1)}))
			before, _ := e.Run("r")

			require.ErrorIs(t, tc.record(re), memory.ErrRunEnded, "nothing is accepted after EndRun")
			after, _ := e.Run("r")
			assert.Equal(t, before, after, "a refused record changes nothing")
		})
	}

	t.Run("second StartRun with the same ID", func(t *testing.T) {
		e := memory.New()
		start(t, e, "r")
		re, err := e.StartRun(ctx, flowtrace.RunStart{RunID: "r"})
		require.ErrorIs(t, err, memory.ErrDuplicateRun)
		assert.Nil(t, re, "no RunExporter with an error")
		assert.Equal(t, 1, e.Len(), "the refused run is not recorded")
	})
}

func TestRunsLenResetShutdowns(t *testing.T) {
	ctx := context.Background()
	var e memory.Exporter // the zero value is ready to use
	assert.Empty(t, e.Runs(), "a new exporter has no run")
	_, ok := e.Run("x")
	assert.False(t, ok, "Run reports an unknown ID as not found")

	ids := []string{"c", "a", "b"}
	res := make([]flowtrace.RunExporter, len(ids))
	for i, id := range ids {
		res[i] = start(t, &e, id)
	}
	// End them in another order: Runs stays in start order.
	for _, i := range []int{2, 0, 1} {
		require.NoError(t, res[i].EndRun(ctx, flowtrace.RunEnd{RunID: ids[i]}))
	}
	var got []string
	for _, r := range e.Runs() {
		got = append(got, r.Info.RunID)
	}
	assert.Equal(t, ids, got, "Runs lists runs in StartRun order")
	assert.Equal(t, 3, e.Len())

	require.NoError(t, e.Shutdown(ctx))
	require.NoError(t, e.Shutdown(ctx))
	assert.Equal(t, 2, e.Shutdowns(), "every Shutdown call is counted")

	late := start(t, &e, "after-shutdown")
	require.NoError(t, late.AddLog(ctx, flowtrace.LogEntry{RunID: "after-shutdown", Name: "l"}), "records after Shutdown are still recorded")
	run, ok := e.Run("after-shutdown")
	require.True(t, ok)
	assert.Len(t, run.Logs, 1)

	e.Reset()
	assert.Zero(t, e.Len(), "Reset forgets every run")
	assert.Empty(t, e.Runs())
	assert.NoError(t, late.AddLog(ctx, flowtrace.LogEntry{RunID: "after-shutdown", Name: "l"}), "a forgotten run still accepts records")
	assert.Zero(t, e.Len(), "records of a forgotten run do not bring it back")
	start(t, &e, "a") // its ID may be reused
	assert.Equal(t, 2, e.Shutdowns(), "Reset keeps the Shutdown count")
}

func TestReturnedRunsAreDeepCopies(t *testing.T) {
	ctx := context.Background()
	e := memory.New()
	re, err := e.StartRun(ctx, flowtrace.RunStart{RunID: "r", Metadata: flowtrace.FieldsOf(map[string]any{"tags": []any{"x"}})})
	require.NoError(t, err)
	require.NoError(t, re.StartComponent(ctx, flowtrace.ComponentStart{RunID: "r", ComponentID: "c", Inputs: flowtrace.FieldsOf(map[string]any{"q": map[string]any{"n": int64(1)}})}))
	require.NoError(t, re.AddLog(ctx, flowtrace.LogEntry{RunID: "r", ComponentID: "c", Message: []any{map[string]any{"k": "v"}}}))
	require.NoError(t, re.SetOutputs(ctx, flowtrace.Outputs{RunID: "r", ComponentID: "c", Values: flowtrace.FieldsOf(map[string]any{"list": []any{int64(1)}})}))
	require.NoError(t, re.AddLog(ctx, flowtrace.LogEntry{RunID: "r", Message: map[string]any{"m": "run"}}))
	require.NoError(t, re.SetOutputs(ctx, flowtrace.Outputs{RunID: "r", Values: flowtrace.FieldsOf(map[string]any{"nested": map[string]any{"n": []any{int64(1)}}})}))
	want, _ := e.Run("r")

	mutations := map[string]func(r *memory.Run){
		"run metadata":        func(r *memory.Run) { r.Info.Metadata.Map()["tags"].([]any)[0] = "changed" },
		"run outputs key":     func(r *memory.Run) { r.Outputs["new"] = 1 },
		"run outputs nested":  func(r *memory.Run) { r.Outputs["nested"].(map[string]any)["n"].([]any)[0] = 9 },
		"run log message":     func(r *memory.Run) { r.Logs[0].Message.(map[string]any)["m"] = "changed" },
		"run logs slice":      func(r *memory.Run) { r.Logs[0].Name = "changed" },
		"component inputs":    func(r *memory.Run) { r.Components[0].Info.Inputs.Map()["q"].(map[string]any)["n"] = 2 },
		"component log":       func(r *memory.Run) { r.Components[0].Logs[0].Message.([]any)[0].(map[string]any)["k"] = "changed" },
		"component outputs":   func(r *memory.Run) { r.Components[0].Outputs["list"].([]any)[0] = "changed" },
		"component struct":    func(r *memory.Run) { r.Components[0].Ended = true },
		"components appended": func(r *memory.Run) { r.Components = append(r.Components[:0], memory.Component{}) },
	}
	for name, mutate := range mutations {
		t.Run(name, func(t *testing.T) {
			for _, get := range []func() memory.Run{
				func() memory.Run { return e.Runs()[0] },
				func() memory.Run { r, _ := e.Run("r"); return r },
			} {
				got := get()
				mutate(&got)
				again, _ := e.Run("r")
				require.Equal(t, want, again, "mutating a returned run must not change what the exporter holds")
			}
		})
	}
}

func TestHandBuiltValuesOfOtherTypesAreShared(t *testing.T) {
	ctx := context.Background()
	cyclic := map[string]any{"name": "loop"}
	cyclic["self"] = cyclic
	typed := []string{"a"}

	e := memory.New()
	re := start(t, e, "r")
	require.NoError(t, re.AddLog(ctx, flowtrace.LogEntry{RunID: "r", Message: map[string]any{"cyclic": cyclic, "typed": typed}}))

	run, ok := e.Run("r") // returns: a value that contains itself is copied to a bounded depth
	require.True(t, ok)
	msg := run.Logs[0].Message.(map[string]any)
	gotCyclic := msg["cyclic"].(map[string]any)
	assert.Equal(t, "loop", gotCyclic["self"].(map[string]any)["name"])
	assert.False(t, sameMap(cyclic, gotCyclic), "a map[string]any is copied")
	msg["typed"].([]string)[0] = "b"
	assert.Equal(t, "b", typed[0], "a []string, which no snapshot holds, is shared as the package documents")
}

// TestRetainedRunIsIndependent delivers records, keeps the Run the exporter
// returned and the records themselves, and checks that neither changes
// when the other side does: the exporter's state, the caller's copy and the
// records the library shares with other exporters are three separate trees.
func TestRetainedRunIsIndependent(t *testing.T) {
	ctx := context.Background()
	meta := map[string]any{"tags": []any{"a", map[string]any{"k": "v"}}}
	inputs := map[string]any{"q": map[string]any{"n": int64(1)}, "empty": map[string]any{}}
	msg := []any{map[string]any{"k": "v"}, []any{int64(1)}}
	outs := map[string]any{"list": []any{int64(1), map[string]any{"x": 1.5}}}
	records := []any{meta, inputs, msg, outs}
	recordsBefore := values.Clone(records)

	e := memory.New()
	re, err := e.StartRun(ctx, flowtrace.RunStart{RunID: "r", Metadata: flowtrace.FieldsOf(meta)})
	require.NoError(t, err)
	require.NoError(t, re.StartComponent(ctx, flowtrace.ComponentStart{RunID: "r", ComponentID: "c", Inputs: flowtrace.FieldsOf(inputs)}))
	require.NoError(t, re.AddLog(ctx, flowtrace.LogEntry{RunID: "r", ComponentID: "c", Message: msg}))
	require.NoError(t, re.SetOutputs(ctx, flowtrace.Outputs{RunID: "r", ComponentID: "c", Values: flowtrace.FieldsOf(outs)}))
	require.NoError(t, re.SetOutputs(ctx, flowtrace.Outputs{RunID: "r", Values: flowtrace.FieldsOf(outs)}))

	retained, ok := e.Run("r")
	require.True(t, ok)
	retainedBefore, _ := e.Run("r")

	// Delivery goes on: the exporter merges into its own state.
	require.NoError(t, re.SetOutputs(ctx, flowtrace.Outputs{RunID: "r", ComponentID: "c", Values: flowtrace.FieldsOf(map[string]any{"later": true})}))
	require.NoError(t, re.AddLog(ctx, flowtrace.LogEntry{RunID: "r", ComponentID: "c", Message: "later"}))
	require.NoError(t, re.EndRun(ctx, flowtrace.RunEnd{RunID: "r", Outputs: flowtrace.FieldsOf(map[string]any{"list": "replaced"})}))
	assert.Equal(t, retainedBefore, retained, "a retained Run does not change as delivery goes on")
	exporterBefore, _ := e.Run("r")

	// The caller changes every tree it holds, at every depth.
	retained.Info.Metadata.Map()["tags"].([]any)[1].(map[string]any)["k"] = "changed"
	retained.Info.Metadata.Map()["new"] = 1
	c := &retained.Components[0]
	c.Info.Inputs.Map()["q"].(map[string]any)["n"] = int64(2)
	c.Info.Inputs.Map()["empty"].(map[string]any)["new"] = 1
	c.Logs[0].Message.([]any)[0].(map[string]any)["k"] = "changed"
	c.Logs[0].Message.([]any)[1].([]any)[0] = "changed"
	c.Outputs["list"].([]any)[1].(map[string]any)["x"] = "changed"
	retained.Outputs["list"].([]any)[0] = "changed"

	exporterAfter, _ := e.Run("r")
	assert.Equal(t, exporterBefore, exporterAfter, "changing a retained Run leaves the exporter's copy alone")
	assert.Equal(t, recordsBefore, records, "and the delivered records, which other exporters share, too")
}

func TestReadsDuringConcurrentDelivery(t *testing.T) {
	const runs, comps, logs = 50, 5, 10
	ctx := context.Background()
	e := memory.New()
	done := make(chan struct{})
	var readers sync.WaitGroup
	for range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				for _, r := range e.Runs() {
					// Reading and writing every part of the copy is race-free.
					for i := range r.Components {
						r.Components[i].Outputs = map[string]any{}
						for j := range r.Components[i].Logs {
							r.Components[i].Logs[j].Name = ""
						}
					}
					if got, ok := e.Run(r.Info.RunID); ok {
						got.Logs = append(got.Logs, flowtrace.LogEntry{})
					}
				}
				_ = e.Len()
			}
		}()
	}

	var writers sync.WaitGroup
	for i := range runs {
		writers.Add(1)
		go func() {
			defer writers.Done()
			id := fmt.Sprint("run-", i)
			re, err := e.StartRun(ctx, flowtrace.RunStart{RunID: id})
			if !assert.NoError(t, err) {
				return
			}
			for c := range comps {
				cid := fmt.Sprint("c", c)
				assert.NoError(t, re.StartComponent(ctx, flowtrace.ComponentStart{RunID: id, ComponentID: cid}))
				for l := range logs {
					assert.NoError(t, re.AddLog(ctx, flowtrace.LogEntry{RunID: id, ComponentID: cid, Message: map[string]any{"l": l}}))
					assert.NoError(t, re.SetOutputs(ctx, flowtrace.Outputs{RunID: id, ComponentID: cid, Values: flowtrace.FieldsOf(map[string]any{"last": l})}))
				}
				assert.NoError(t, re.EndComponent(ctx, flowtrace.ComponentEnd{RunID: id, ComponentID: cid}))
				assert.NoError(t, re.AddLog(ctx, flowtrace.LogEntry{RunID: id}))
			}
			assert.NoError(t, re.EndRun(ctx, flowtrace.RunEnd{RunID: id, Outputs: flowtrace.FieldsOf(map[string]any{"i": i})}))
		}()
	}
	writers.Wait()
	close(done)
	readers.Wait()

	all := e.Runs()
	require.Len(t, all, runs, "every run started is listed")
	for _, r := range all {
		assert.True(t, r.Ended, "run %s ended", r.Info.RunID)
		assert.Len(t, r.Logs, comps, "run %s has its run-level logs", r.Info.RunID)
		require.Len(t, r.Components, comps, "run %s has its components", r.Info.RunID)
		for _, c := range r.Components {
			assert.Len(t, c.Logs, logs, "component %s of run %s has all its logs", c.Info.ComponentID, r.Info.RunID)
			assert.Equal(t, map[string]any{"last": logs - 1}, c.Outputs, "the last outputs win")
		}
	}
}

// sameMap reports whether a and b are the same map.
func sameMap(a, b map[string]any) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

func TestTree(t *testing.T) {
	at := func(ms int) time.Time { return time.Date(2026, 11, 28, 0, 0, 0, ms*1e6, time.UTC) }
	r := memory.Run{Info: flowtrace.RunStart{RunName: "flow"}, Ended: true, Components: []memory.Component{
		{Info: flowtrace.ComponentStart{ComponentID: "p", Name: "parallel", Type: "chain", Time: at(1)}, Ended: true},
		{Info: flowtrace.ComponentStart{ComponentID: "b", ParentID: "p", Name: "b", Type: "tool"}, Ended: true, Err: errors.New("boom\n----\nnode path")},
		{Info: flowtrace.ComponentStart{ComponentID: "a", ParentID: "p", Name: "a", Type: "llm"}, Ended: true,
			ModelCalls: []flowtrace.ModelCallRecord{{Call: flowtrace.ModelCall{Model: "m", Usage: flowtrace.Usage{InputTokens: 3, OutputTokens: 1}}}}},
		{Info: flowtrace.ComponentStart{ComponentID: "o", ParentID: "gone", Name: "orphan"}, Ended: true, Err: flowtrace.ErrComponentNotEnded},
		{Info: flowtrace.ComponentStart{ComponentID: "x", Name: "open"}},
	}}
	assert.Equal(t, "flow ok\n  parallel (chain) ok\n    b (tool) error: boom …\n    a (llm) ok model=m tokens=3/1\n  orphan not ended\n  open open\n", r.Tree())
	assert.Equal(t, "flow ok\n  open open\n  orphan not ended\n  parallel (chain) ok\n    a (llm) ok model=m tokens=3/1\n    b (tool) error: boom …\n", r.SortedTree())
}

func TestSuspendedFlagsAreKept(t *testing.T) {
	ctx := context.Background()
	e := memory.New()
	re, err := e.StartRun(ctx, flowtrace.RunStart{RunID: "r", Resumed: true, Time: at(0)})
	require.NoError(t, err)
	require.NoError(t, re.StartComponent(ctx, flowtrace.ComponentStart{RunID: "r", ComponentID: "wait", Time: at(1)}))
	require.NoError(t, re.EndComponent(ctx, flowtrace.ComponentEnd{RunID: "r", ComponentID: "wait", Suspended: true, Time: at(2)}))
	require.NoError(t, re.EndRun(ctx, flowtrace.RunEnd{RunID: "r", Suspended: true, Time: at(3)}))

	run, _ := e.Run("r")
	assert.True(t, run.Info.Resumed, "the start's Resumed is kept in Info")
	assert.True(t, run.Suspended, "Run.Suspended is RunEnd.Suspended")
	assert.NoError(t, run.Err, "a suspended run did not fail")
	require.Len(t, run.Components, 1)
	assert.True(t, run.Components[0].Suspended, "Component.Suspended is ComponentEnd.Suspended")
	assert.NoError(t, run.Components[0].Err)
}

func TestModelCallMergesTheRequestAndTheAnswer(t *testing.T) {
	ctx := context.Background()
	e := memory.New()
	re, err := e.StartRun(ctx, flowtrace.RunStart{RunID: "r", Time: at(0)})
	require.NoError(t, err)
	mre := re.(flowtrace.ModelCallExporter)
	require.NoError(t, re.StartComponent(ctx, flowtrace.ComponentStart{RunID: "r", ComponentID: "c", Time: at(1)}))
	require.NoError(t, mre.RecordModelCall(ctx, flowtrace.ModelCallRecord{RunID: "r", ComponentID: "c",
		Call: flowtrace.ModelCall{Provider: "openai", Model: "gpt-4o", Stream: true}}))
	require.NoError(t, mre.RecordModelCall(ctx, flowtrace.ModelCallRecord{RunID: "r", ComponentID: "c",
		Call: flowtrace.ModelCall{ResponseID: "chatcmpl-1", ResponseModel: "gpt-4o-2024-08-06", Usage: flowtrace.Usage{InputTokens: 3}}}))
	run, _ := e.Run("r")
	got := run.Components[0].ModelCall()
	assert.Equal(t, "openai", got.Provider, "the request's fields stay")
	assert.Equal(t, "gpt-4o", got.Model)
	assert.True(t, got.Stream, "a stream stays a stream")
	assert.Equal(t, "chatcmpl-1", got.ResponseID, "the answer's fields are added")
	assert.Equal(t, "gpt-4o-2024-08-06", got.ResponseModel)
	assert.Equal(t, int64(3), got.Usage.InputTokens)
}

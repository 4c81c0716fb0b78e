package console_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/console"
)

var (
	ctx = context.Background()
	t0  = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// recorder drives one run with terse helpers; every record must be accepted.
type recorder struct {
	t  *testing.T
	id string
	re flowtrace.RunExporter
}

func startRun(t *testing.T, e *console.Exporter, info flowtrace.RunStart) *recorder {
	t.Helper()
	re, err := e.StartRun(ctx, info)
	require.NoError(t, err, "StartRun never fails")
	return &recorder{t: t, id: info.RunID, re: re}
}

func (r *recorder) start(id, parent, name, typ string, ms int) {
	r.t.Helper()
	require.NoError(r.t, r.re.StartComponent(ctx, flowtrace.ComponentStart{RunID: r.id, ComponentID: id, ParentID: parent, Name: name, Type: typ, Time: at(ms)}))
}

func (r *recorder) log(comp, name string, msg any) {
	r.t.Helper()
	require.NoError(r.t, r.re.AddLog(ctx, flowtrace.LogEntry{RunID: r.id, ComponentID: comp, Name: name, Message: msg}))
}

func (r *recorder) out(comp string, values map[string]any) {
	r.t.Helper()
	require.NoError(r.t, r.re.SetOutputs(ctx, flowtrace.Outputs{RunID: r.id, ComponentID: comp, Values: flowtrace.FieldsOf(values)}))
}

func (r *recorder) end(id string, err error, ms int) {
	r.t.Helper()
	require.NoError(r.t, r.re.EndComponent(ctx, flowtrace.ComponentEnd{RunID: r.id, ComponentID: id, Err: err, Time: at(ms)}))
}

func (r *recorder) endRun(outputs map[string]any, err error, ms int) {
	r.t.Helper()
	require.NoError(r.t, r.re.EndRun(ctx, flowtrace.RunEnd{RunID: r.id, Outputs: flowtrace.FieldsOf(outputs), Err: err, Time: at(ms)}))
}

func TestName(t *testing.T) {
	assert.Equal(t, "console", console.New(nil).Name())
}

func TestRendersRuns(t *testing.T) {
	for _, tc := range []struct {
		name string
		info flowtrace.RunStart
		run  func(r *recorder)
		want string
	}{
		{
			name: "empty run",
			info: flowtrace.RunStart{RunID: "r1", Time: at(0)},
			run:  func(r *recorder) { r.endRun(nil, nil, 0) },
			want: "▶ (unnamed run)  run r1  0s  ok\n",
		},
		{
			name: "statuses and nesting",
			info: flowtrace.RunStart{RunID: "run-1", RunName: "agent", ProjectName: "p", UserID: "u1", SessionID: "s1", Time: at(0)},
			run: func(r *recorder) {
				r.start("a", "", "planner", "agent", 0)
				r.start("b", "a", "search", "tool", 10)
				r.start("c", "b", "http", "", 11)
				r.end("c", nil, 12)
				r.end("b", errors.New("timeout\nafter 3 tries"), 2011)
				r.start("d", "a", "", "llm", 2012)
				r.end("a", nil, 62_500)
				r.start("e", "", "never-ended", "tool", 62_500)
				r.start("f", "", "closed-by-run", "tool", 62_500)
				r.end("f", fmt.Errorf("run ended: %w", flowtrace.ErrComponentNotEnded), 63_000)
				r.endRun(nil, errors.New("planner failed"), 63_000)
			},
			want: `▶ agent  run run-1  project=p user=u1 session=s1  1m3s  error: planner failed
├─ planner (agent) 1m3s ok
│  ├─ search (tool) 2.001s error: timeout after 3 tries
│  │  └─ http 1ms ok
│  └─ (unnamed) (llm) not ended
├─ never-ended (tool) not ended
└─ closed-by-run (tool) not ended
`,
		},
		{
			name: "nested run",
			info: flowtrace.RunStart{
				RunID: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", ParentRunID: "6f1c2a9e-1b2c-4d5e-8f90-1234567890e2",
				ParentComponentID: "a1b2c3d4e5f60718", RunName: "sub-flow", Time: at(0),
			},
			run:  func(r *recorder) { r.endRun(map[string]any{"n": int64(1)}, nil, 1) },
			want: "▶ sub-flow  run 0f1e2d3c…e1f0  (in run 6f1c2a9e…90e2 / component a1b2c3d4…0718)  1ms  ok\n└ out n: 1\n",
		},
		{
			name: "nested run without parent component",
			info: flowtrace.RunStart{RunID: "r2", ParentRunID: "r1", RunName: "sub", Time: at(0)},
			run:  func(r *recorder) { r.endRun(nil, nil, 0) },
			want: "▶ sub  run r2  (in run r1)  0s  ok\n",
		},
		{
			name: "unknown parent goes under the run",
			info: flowtrace.RunStart{RunID: "r", RunName: "x", Time: at(0)},
			run: func(r *recorder) {
				r.start("a", "", "first", "", 0)
				r.start("b", "missing", "orphan", "", 1)
				r.log("b", "l", "v")
				r.end("b", nil, 2)
				r.end("a", nil, 3)
				r.endRun(nil, nil, 3)
			},
			want: `▶ x  run r  3ms  ok
├─ first 3ms ok
└─ orphan 1ms ok
   └ log l: "v"
`,
		},
		{
			name: "records for a component whose start was not seen",
			info: flowtrace.RunStart{RunID: "r", RunName: "x", Time: at(0)},
			run: func(r *recorder) {
				r.log("", "before", nil)
				r.log("ghost", "l", int64(1))
				r.out("ghost", map[string]any{"k": true})
				r.end("ghost", errors.New("bad"), 5)
				r.end("ghost2", nil, 5)
				r.endRun(nil, nil, 5)
			},
			want: `▶ x  run r  5ms  ok
├ log before
├─ ? ghost (start not seen) error: bad
│  ├ log l: 1
│  └ out k: true
└─ ? ghost2 (start not seen) ok
`,
		},
		{
			name: "outputs merge, keys sorted, run outputs last",
			info: flowtrace.RunStart{RunID: "r", RunName: "x", Time: at(0)},
			run: func(r *recorder) {
				r.start("c", "", "llm", "llm", 0)
				r.out("c", map[string]any{"text": "Par", "b": int64(1)})
				r.out("c", map[string]any{"text": "Paris"})
				r.end("c", nil, 1)
				r.out("", map[string]any{"z": "first", "a": "draft"})
				r.log("", "", "message without a name")
				r.endRun(map[string]any{"a": "final"}, nil, 2)
			},
			want: `▶ x  run r  2ms  ok
├─ llm (llm) 1ms ok
│  ├ out b: 1
│  └ out text: "Paris"
├ log: "message without a name"
├ out a: "final"
└ out z: "first"
`,
		},
		{
			name: "long values, names and errors are cut, control characters flattened",
			info: flowtrace.RunStart{RunID: "r", RunName: "line\none", Time: at(0)},
			run: func(r *recorder) {
				r.start("c", "", strings.Repeat("n", 120), "t\tab", 0)
				r.log("c", "map", map[string]any{"b": []any{int64(1), 2.5, nil, true}, "a": "x\ny", "odd key": map[string]any{}})
				r.log("c", "long", strings.Repeat("é", 100))
				r.log("c", "nested", map[string]any{"deep": map[string]any{"deeper": map[string]any{"text": strings.Repeat("w", 80)}}})
				r.end("c", errors.New(strings.Repeat("e", 150)), 1)
				r.endRun(nil, nil, 1)
			},
			want: "▶ line one  run r  1ms  ok\n" +
				"└─ " + strings.Repeat("n", 99) + "… (t ab) 1ms error: " + strings.Repeat("e", 99) + "…\n" +
				`   ├ log map: {a: "x\ny", b: [1, 2.5, null, true], "odd key": {}}` + "\n" +
				`   ├ log long: "` + strings.Repeat("é", 58) + "…\n" +
				`   └ log nested: {deep: {deeper: {text: "` + strings.Repeat("w", 35) + "…\n",
		},
		{
			name: "many logs are counted",
			info: flowtrace.RunStart{RunID: "r", RunName: "x", Time: at(0)},
			run: func(r *recorder) {
				r.start("c", "", "chatty", "", 0)
				for i := range 25 {
					r.log("c", fmt.Sprint(i), nil)
				}
				r.start("d", "c", "late child", "", 0)
				r.end("d", nil, 0)
				r.end("c", nil, 0)
				r.endRun(nil, nil, 0)
			},
			want: "▶ x  run r  0s  ok\n└─ chatty 0s ok\n" + logLines(20) + "   ├─ late child 0s ok\n   └ … 5 more logs\n",
		},
		{
			name: "a reused component ID means its latest start",
			info: flowtrace.RunStart{RunID: "r", RunName: "loop", Time: at(0)},
			run: func(r *recorder) {
				r.start("step", "", "step", "", 0)
				r.end("step", nil, 1)
				r.start("step", "", "step", "", 1)
				r.log("step", "second", nil)
				r.end("step", nil, 3)
				r.endRun(nil, nil, 3)
			},
			want: `▶ loop  run r  3ms  ok
├─ step 1ms ok
└─ step 2ms ok
   └ log second
`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			tc.run(startRun(t, console.New(&buf), tc.info))
			assert.Equal(t, tc.want, buf.String(), "the run must print exactly as shown")
		})
	}
}

func logLines(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "   ├ log %d\n", i)
	}
	return b.String()
}

func TestDurations(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{0, "0s"},
		{999, "999ns"},
		{1500 * time.Nanosecond, "2µs"},
		{850 * time.Microsecond, "850µs"},
		{999_600 * time.Nanosecond, "1ms"},
		{812*time.Millisecond + 400*time.Microsecond, "812ms"},
		{999_700 * time.Microsecond, "1.000s"},
		{1234 * time.Millisecond, "1.234s"},
		{59_999_700 * time.Microsecond, "1m0s"},
		{123 * time.Second, "2m3s"},
		{time.Hour + 500*time.Millisecond, "1h0m1s"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			var buf bytes.Buffer
			r := startRun(t, console.New(&buf), flowtrace.RunStart{RunID: "r", RunName: "x", Time: t0})
			require.NoError(t, r.re.EndRun(ctx, flowtrace.RunEnd{RunID: "r", Time: t0.Add(tc.d)}))
			assert.Equal(t, "▶ x  run r  "+tc.want+"  ok\n", buf.String(), "a run of %v must show %s", tc.d, tc.want)
		})
	}
}

type point struct{ X, Y int }

type stringer struct{}

func (stringer) String() string { return "line\nbreak" }

func TestValues(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	for _, tc := range []struct {
		name  string
		value any
		want  string
	}{
		{"string", "Paris", `"Paris"`},
		{"quotes escaped", `say "hi"`, `"say \"hi\""`},
		{"int64", int64(-3), "-3"},
		{"float", 0.1, "0.1"},
		{"large float", 1e21, "1e+21"},
		{"bool", false, "false"},
		{"null in a list", []any{nil}, "[null]"},
		{"empty map", map[string]any{}, "{}"},
		{"sorted keys", map[string]any{"b": 1, "a": 2, "C": 3}, "{C: 3, a: 2, b: 1}"},
		{"typed map", map[string]int{"y": 2, "x": 1}, "{x: 1, y: 2}"},
		{"typed slice", []string{"a", "b"}, `["a", "b"]`},
		{"bytes", []byte("hi"), `"hi"`},
		{"array", [2]int{1, 2}, "[1, 2]"},
		{"struct", point{1, 2}, "{1 2}"},
		{"stringer on one line", stringer{}, "line break"},
		{"error", errors.New("bad"), `"bad"`},
		{"int key", map[int]string{2: "b", 1: "a"}, `{1: "a", 2: "b"}`},
		{"cyclic map stops at the limit", cyclic, strings.Repeat("{self: ", 8) + "{se…"},
		{"exactly the limit", strings.Repeat("x", 58), `"` + strings.Repeat("x", 58) + `"`},
		{"one past the limit", strings.Repeat("x", 59), `"` + strings.Repeat("x", 58) + "…"},
		{"runes, not bytes", strings.Repeat("世", 70), `"` + strings.Repeat("世", 58) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			r := startRun(t, console.New(&buf), flowtrace.RunStart{RunID: "r", RunName: "x"})
			r.log("", "v", tc.value)
			r.endRun(nil, nil, 0)
			lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			require.Len(t, lines, 2, "a value is shown on one line: %q", buf.String())
			assert.Equal(t, "└ log v: "+tc.want, lines[1], "the value must be rendered compactly")
		})
	}
}

func FuzzValue(f *testing.F) {
	for _, s := range []string{"", "x", "\n\x00", strings.Repeat("é", 100), "\xff\xfe", "\u2028", "a\tb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var buf bytes.Buffer
		e := console.New(&buf)
		re, err := e.StartRun(ctx, flowtrace.RunStart{RunID: s, RunName: s, UserID: s})
		require.NoError(t, err)
		require.NoError(t, re.StartComponent(ctx, flowtrace.ComponentStart{RunID: s, ComponentID: s, Name: s, Type: s}))
		require.NoError(t, re.AddLog(ctx, flowtrace.LogEntry{RunID: s, ComponentID: s, Name: s, Message: map[string]any{s: s}}))
		require.NoError(t, re.EndComponent(ctx, flowtrace.ComponentEnd{RunID: s, ComponentID: s, Err: errors.New(s)}))
		require.NoError(t, re.EndRun(ctx, flowtrace.RunEnd{RunID: s, Outputs: flowtrace.FieldsOf(map[string]any{s: s})}))
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		require.Len(t, lines, 4, "whatever the strings, the run prints as four lines: %q", buf.String())
		for _, l := range lines {
			assert.LessOrEqual(t, len([]rune(l)), 400, "every line is bounded: %q", l)
		}
	})
}

// exclusiveWriter fails the test if two Write calls overlap, and writes to
// an unguarded buffer: the exporter must serialise.
type exclusiveWriter struct {
	t        *testing.T
	inFlight atomic.Int32
	calls    atomic.Int64
	buf      bytes.Buffer
}

func (w *exclusiveWriter) Write(p []byte) (int, error) {
	if w.inFlight.Add(1) != 1 {
		w.t.Error("two Write calls overlapped: the exporter must serialise writes")
	}
	defer w.inFlight.Add(-1)
	w.calls.Add(1)
	return w.buf.Write(p)
}

func TestConcurrentRunsNeverInterleave(t *testing.T) {
	const runs, comps = 50, 30
	w := &exclusiveWriter{t: t}
	e := console.New(w)
	want := make([]string, runs)
	var wg sync.WaitGroup
	for i := range runs {
		var b strings.Builder
		fmt.Fprintf(&b, "▶ run-%d  run r%d  0s  ok\n", i, i)
		for c := range comps {
			br := "├─ "
			if c == comps-1 {
				br = "└─ "
			}
			fmt.Fprintf(&b, "%sc%d-%d 0s ok\n", br, i, c)
		}
		want[i] = b.String()
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprint("r", i)
			r := startRun(t, e, flowtrace.RunStart{RunID: id, RunName: fmt.Sprint("run-", i), Time: t0})
			for c := range comps {
				cid := fmt.Sprint(c)
				assert.NoError(t, r.re.StartComponent(ctx, flowtrace.ComponentStart{RunID: id, ComponentID: cid, Name: fmt.Sprintf("c%d-%d", i, c), Time: t0}))
				assert.NoError(t, r.re.EndComponent(ctx, flowtrace.ComponentEnd{RunID: id, ComponentID: cid, Time: t0}))
			}
			assert.NoError(t, r.re.EndRun(ctx, flowtrace.RunEnd{RunID: id, Time: t0}))
		}()
	}
	wg.Wait()

	assert.Equal(t, int64(runs), w.calls.Load(), "each run is printed with one Write call")
	out := w.buf.String()
	total := 0
	for i, block := range want {
		assert.Equal(t, 1, strings.Count(out, block), "run %d must appear once, whole and uninterrupted", i)
		total += len(block)
	}
	assert.Equal(t, total, len(out), "nothing but the runs is printed")
}

func TestRecordsAfterEndRunAreRefused(t *testing.T) {
	var buf bytes.Buffer
	r := startRun(t, console.New(&buf), flowtrace.RunStart{RunID: "r"})
	r.start("c", "", "c", "", 0)
	r.endRun(nil, nil, 0)
	printed := buf.String()
	for name, call := range map[string]func() error{
		"StartComponent": func() error { return r.re.StartComponent(ctx, flowtrace.ComponentStart{RunID: "r", ComponentID: "d"}) },
		"AddLog":         func() error { return r.re.AddLog(ctx, flowtrace.LogEntry{RunID: "r"}) },
		"SetOutputs":     func() error { return r.re.SetOutputs(ctx, flowtrace.Outputs{RunID: "r"}) },
		"EndComponent":   func() error { return r.re.EndComponent(ctx, flowtrace.ComponentEnd{RunID: "r", ComponentID: "c"}) },
		"EndRun":         func() error { return r.re.EndRun(ctx, flowtrace.RunEnd{RunID: "r"}) },
	} {
		assert.ErrorIs(t, call(), console.ErrRunEnded, "%s after EndRun must be refused", name)
	}
	assert.Equal(t, printed, buf.String(), "a run is printed once")
}

type errWriter struct{ n int }

func (w errWriter) Write([]byte) (int, error) {
	if w.n >= 0 {
		return w.n, nil
	}
	return 0, errors.New("disk full")
}

type flushErrWriter struct{ io.Writer }

func (flushErrWriter) Flush() error { return errors.New("flush failed") }

func TestWriterErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		w    io.Writer
		want string
	}{
		{"write error", errWriter{n: -1}, "disk full"},
		{"short write", errWriter{n: 1}, io.ErrShortWrite.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			re, err := console.New(tc.w).StartRun(ctx, flowtrace.RunStart{RunID: "r"})
			require.NoError(t, err, "StartRun writes nothing")
			assert.ErrorContains(t, re.EndRun(ctx, flowtrace.RunEnd{RunID: "r"}), tc.want, "EndRun returns the writer's error")
		})
	}
	assert.ErrorContains(t, console.New(flushErrWriter{io.Discard}).Shutdown(ctx), "flush failed", "Shutdown returns the Flush error")
	assert.NoError(t, console.New(io.Discard).Shutdown(ctx), "Shutdown of a writer without Flush does nothing")
}

func TestShutdownFlushes(t *testing.T) {
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	e := console.New(bw)
	r := startRun(t, e, flowtrace.RunStart{RunID: "r", RunName: "x"})
	r.endRun(nil, nil, 0)
	require.Zero(t, out.Len(), "a small output stays in the bufio.Writer until flushed")
	require.NoError(t, e.Shutdown(ctx))
	assert.Equal(t, "▶ x  run r  ok\n", out.String(), "Shutdown flushes a writer with a Flush method; no start time, no duration")
}

func TestNilWriterIsStdout(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stdout")
	require.NoError(t, err)
	defer f.Close()
	saved := os.Stdout
	os.Stdout = f
	defer func() { os.Stdout = saved }()

	for _, e := range []*console.Exporter{console.New(nil), new(console.Exporter)} {
		r := startRun(t, e, flowtrace.RunStart{RunID: "r", RunName: "x"})
		r.endRun(nil, nil, 0)
	}
	os.Stdout = saved
	out, err := os.ReadFile(f.Name())
	require.NoError(t, err)
	assert.Equal(t, strings.Repeat("▶ x  run r  ok\n", 2), string(out), "New(nil) and the zero Exporter print to os.Stdout")
}

func TestModelCallsOnTheComponentLine(t *testing.T) {
	var buf bytes.Buffer
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(console.New(&buf)))
	require.NoError(t, err)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "chat"})
	require.NoError(t, err)
	lctx, llm := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "gpt", Type: flowtrace.TypeLLM})
	svc.RecordModelCall(lctx, flowtrace.ModelCall{Model: "gpt-4o", Usage: flowtrace.Usage{InputTokens: 12, OutputTokens: 3}, Cost: 0.0002, TimeToFirstChunk: 120 * time.Millisecond})
	llm.End(nil)
	_, err = svc.EndTracers(ctx, nil, nil)
	require.NoError(t, err)
	require.NoError(t, svc.Shutdown(context.Background()))
	assert.Regexp(t, `gpt \(llm\) \S+ ok  gpt-4o 12→3 tok \$0\.0002 ttft 120ms\n`, buf.String())
}

func TestTagsOnTheRunLine(t *testing.T) {
	var buf bytes.Buffer
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(console.New(&buf)))
	require.NoError(t, err)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "r", UserID: "u", Tags: []string{"prod", "beta"}})
	require.NoError(t, err)
	_, err = svc.EndTracers(ctx, nil, nil)
	require.NoError(t, err)
	require.NoError(t, svc.Shutdown(context.Background()))
	assert.Regexp(t, `^▶ r  run \S+  trace=[0-9a-f]{32} user=u tags=prod,beta  \S+  ok\n`, buf.String())
}

// TestTraceIDOnTheRunLine: every run's header shows its trace ID in full,
// so that runs of one trace (here a run and the run nested in it) are seen
// to be one, and the ID can be searched for in a backend.
func TestTraceIDOnTheRunLine(t *testing.T) {
	var buf bytes.Buffer
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(console.New(&buf)))
	require.NoError(t, err)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "outer", SessionID: "s1"})
	require.NoError(t, err)
	inner, err := svc.StartTracers(ctx, flowtrace.RunInfo{RunName: "inner"})
	require.NoError(t, err)
	_, err = svc.EndTracers(inner, nil, nil)
	require.NoError(t, err)
	_, err = svc.EndTracers(ctx, nil, nil)
	require.NoError(t, err)
	require.NoError(t, svc.Shutdown(context.Background()))

	rc, _ := flowtrace.RunFromContext(ctx)
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Len(t, lines, 2, "two runs, no components: %q", buf.String())
	assert.Regexp(t, `^▶ inner  run \S+  \(in run \S+\)  trace=`+rc.TraceIDString()+` session=s1  \S+  ok$`, lines[0], "the nested run shows its parent's trace and inherited session")
	assert.Regexp(t, `^▶ outer  run \S+  trace=`+rc.TraceIDString()+` session=s1  \S+  ok$`, lines[1])
}

func TestSuspendedRunsAndComponentsSaySo(t *testing.T) {
	var buf bytes.Buffer
	r := startRun(t, console.New(&buf), flowtrace.RunStart{RunID: "r", RunName: "flow", Time: at(0)})
	r.start("a", "", "draft", "", 0)
	r.end("a", nil, 5)
	r.start("b", "", "await approval", "", 5)
	require.NoError(t, r.re.EndComponent(ctx, flowtrace.ComponentEnd{RunID: "r", ComponentID: "b", Suspended: true, Time: at(9)}))
	require.NoError(t, r.re.EndRun(ctx, flowtrace.RunEnd{RunID: "r", Suspended: true, Time: at(9)}))
	assert.Equal(t, `▶ flow  run r  9ms  suspended
├─ draft 5ms ok
└─ await approval 4ms suspended
`, buf.String())
}

package jsonl_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/jsonl"
)

var (
	ctx = context.Background()
	t0  = time.Date(2026, 11, 24, 10, 0, 0, 123456789, time.UTC)
)

const t0s = "2026-11-24T10:00:00.123456789Z"

// lines parses every line of out, requiring each to be one JSON object.
func lines(t *testing.T, out string) []map[string]any {
	t.Helper()
	require.True(t, strings.HasSuffix(out, "\n") || out == "", "output must end with a newline, got %q", out)
	var got []map[string]any
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" && out == "" {
			break
		}
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		require.NoError(t, dec.Decode(&m), "line %d must be one JSON object: %q", i, line)
		require.False(t, dec.More(), "line %d must hold exactly one JSON object: %q", i, line)
		got = append(got, m)
	}
	return got
}

// one runs record against a fresh exporter and returns the single line it
// wrote after run_start, parsed.
func one(t *testing.T, record func(re flowtrace.RunExporter) error) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	re, err := jsonl.New(&buf).StartRun(ctx, flowtrace.RunStart{RunID: "r"})
	require.NoError(t, err)
	buf.Reset()
	require.NoError(t, record(re), "writing to a bytes.Buffer must not fail")
	got := lines(t, buf.String())
	require.Len(t, got, 1, "one event is one line")
	return got[0]
}

func TestName(t *testing.T) {
	assert.Equal(t, "jsonl", jsonl.New(nil).Name())
}

func TestSchema(t *testing.T) {
	for _, tc := range []struct {
		name   string
		record func(e *jsonl.Exporter) error
		want   map[string]any
	}{
		{
			name: "run_start, every field",
			record: func(e *jsonl.Exporter) error {
				_, err := e.StartRun(ctx, flowtrace.RunStart{
					RunID: "r", ParentRunID: "pr", ParentComponentID: "pc", RunName: "n", ProjectName: "p",
					UserID: "u", SessionID: "s", Metadata: flowtrace.FieldsOf(map[string]any{"k": "v"}),
					TraceID: [16]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 15: 0xff}, Time: t0,
					SpanID: [8]byte{0xab, 7: 1}, ParentSpanID: [8]byte{0xcd, 7: 2},
				})
				return err
			},
			want: map[string]any{
				"event": "run_start", "time": t0s, "run_id": "r", "parent_run_id": "pr", "parent_component_id": "pc",
				"run_name": "n", "project_name": "p", "user_id": "u", "session_id": "s",
				"metadata": map[string]any{"k": "v"}, "trace_id": "0123456789abcdef00000000000000ff",
				"span_id": "ab00000000000001", "parent_span_id": "cd00000000000002",
			},
		},
		{
			name: "run_start, empty fields omitted",
			record: func(e *jsonl.Exporter) error {
				_, err := e.StartRun(ctx, flowtrace.RunStart{RunID: "r", Metadata: flowtrace.FieldsOf(map[string]any{}), Time: t0})
				return err
			},
			want: map[string]any{"event": "run_start", "time": t0s, "run_id": "r", "trace_id": strings.Repeat("0", 32), "span_id": strings.Repeat("0", 16)},
		},
		{
			name: "component_start, every field",
			record: run(func(re flowtrace.RunExporter) error {
				return re.StartComponent(ctx, flowtrace.ComponentStart{
					RunID: "r", ComponentID: "c", ParentID: "p", Name: "OpenAI", Type: "llm",
					Inputs: flowtrace.FieldsOf(map[string]any{"q": "x", "n": int64(2)}), Metadata: flowtrace.FieldsOf(map[string]any{"m": true}),
					SpanID: [8]byte{0xde, 0xad, 0xbe, 0xef, 7: 1}, ParentSpanID: [8]byte{0xfe, 7: 3}, Time: t0,
				})
			}),
			want: map[string]any{
				"event": "component_start", "time": t0s, "run_id": "r", "component_id": "c", "parent_id": "p",
				"name": "OpenAI", "type": "llm", "inputs": map[string]any{"q": "x", "n": json.Number("2")},
				"metadata": map[string]any{"m": true}, "span_id": "deadbeef00000001", "parent_span_id": "fe00000000000003",
			},
		},
		{
			name: "component_start, empty fields omitted",
			record: run(func(re flowtrace.RunExporter) error {
				return re.StartComponent(ctx, flowtrace.ComponentStart{RunID: "r", ComponentID: "c", Time: t0})
			}),
			want: map[string]any{"event": "component_start", "time": t0s, "run_id": "r", "component_id": "c", "span_id": "0000000000000000"},
		},
		{
			name: "component log",
			record: run(func(re flowtrace.RunExporter) error {
				return re.AddLog(ctx, flowtrace.LogEntry{RunID: "r", ComponentID: "c", Name: "prompt", Type: "object", Message: map[string]any{"a": []any{int64(1), "b"}}, Time: t0})
			}),
			want: map[string]any{
				"event": "log", "time": t0s, "run_id": "r", "component_id": "c", "name": "prompt", "type": "object",
				"message": map[string]any{"a": []any{json.Number("1"), "b"}},
			},
		},
		{
			name: "run-level log with nil message",
			record: run(func(re flowtrace.RunExporter) error {
				return re.AddLog(ctx, flowtrace.LogEntry{RunID: "r", Time: t0})
			}),
			want: map[string]any{"event": "log", "time": t0s, "run_id": "r", "message": nil},
		},
		{
			name: "outputs",
			record: run(func(re flowtrace.RunExporter) error {
				return re.SetOutputs(ctx, flowtrace.Outputs{RunID: "r", ComponentID: "c", Values: flowtrace.FieldsOf(map[string]any{"text": "Paris", "score": 0.5}), Time: t0})
			}),
			want: map[string]any{"event": "outputs", "time": t0s, "run_id": "r", "component_id": "c", "values": map[string]any{"text": "Paris", "score": json.Number("0.5")}},
		},
		{
			name: "empty run-level outputs keep values",
			record: run(func(re flowtrace.RunExporter) error {
				return re.SetOutputs(ctx, flowtrace.Outputs{RunID: "r", Time: t0})
			}),
			want: map[string]any{"event": "outputs", "time": t0s, "run_id": "r", "values": map[string]any{}},
		},
		{
			name: "component_end with error",
			record: run(func(re flowtrace.RunExporter) error {
				return re.EndComponent(ctx, flowtrace.ComponentEnd{RunID: "r", ComponentID: "c", Err: fmt.Errorf("tool: %w", errors.New("timeout")), Time: t0})
			}),
			want: map[string]any{"event": "component_end", "time": t0s, "run_id": "r", "component_id": "c", "error": "tool: timeout"},
		},
		{
			name: "component_end without error",
			record: run(func(re flowtrace.RunExporter) error {
				return re.EndComponent(ctx, flowtrace.ComponentEnd{RunID: "r", ComponentID: "c", Time: t0})
			}),
			want: map[string]any{"event": "component_end", "time": t0s, "run_id": "r", "component_id": "c"},
		},
		{
			name: "run_end, every field",
			record: run(func(re flowtrace.RunExporter) error {
				return re.EndRun(ctx, flowtrace.RunEnd{RunID: "r", Outputs: flowtrace.FieldsOf(map[string]any{"answer": "Paris"}), Err: errors.New("late"), Time: t0})
			}),
			want: map[string]any{"event": "run_end", "time": t0s, "run_id": "r", "outputs": map[string]any{"answer": "Paris"}, "error": "late"},
		},
		{
			name: "run_end, empty fields omitted",
			record: run(func(re flowtrace.RunExporter) error {
				return re.EndRun(ctx, flowtrace.RunEnd{RunID: "r", Outputs: flowtrace.FieldsOf(map[string]any{}), Time: t0})
			}),
			want: map[string]any{"event": "run_end", "time": t0s, "run_id": "r"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, tc.record(jsonl.New(&buf)))
			got := lines(t, buf.String())
			require.NotEmpty(t, got)
			assert.Equal(t, tc.want, got[len(got)-1], "the last line must hold exactly the documented fields")
		})
	}
}

// run returns a record function that starts a run "r" and then calls f.
func run(f func(re flowtrace.RunExporter) error) func(e *jsonl.Exporter) error {
	return func(e *jsonl.Exporter) error {
		re, err := e.StartRun(ctx, flowtrace.RunStart{RunID: "r", Time: t0})
		if err != nil {
			return err
		}
		return f(re)
	}
}

func TestTimeFormat(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	for _, tc := range []struct {
		name string
		in   time.Time
		want string
	}{
		{"nanoseconds", t0, t0s},
		{"whole second keeps nine digits", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "2026-01-02T03:04:05.000000000Z"},
		{"trailing zeros kept", time.Date(2026, 1, 2, 3, 4, 5, 120000000, time.UTC), "2026-01-02T03:04:05.120000000Z"},
		{"other zone converted to UTC", time.Date(2026, 1, 2, 0, 30, 0, 1, paris), "2026-01-01T23:30:00.000000001Z"},
		{"monotonic reading ignored", time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC).Add(0), "2026-01-02T03:04:05.000000006Z"},
		{"zero time", time.Time{}, "0001-01-01T00:00:00.000000000Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := one(t, func(re flowtrace.RunExporter) error {
				return re.AddLog(ctx, flowtrace.LogEntry{RunID: "r", Time: tc.in})
			})
			assert.Equal(t, tc.want, got["time"], "RFC 3339, UTC, exactly nine fractional digits")
			parsed, err := time.Parse(time.RFC3339Nano, got["time"].(string))
			require.NoError(t, err, "the time must parse as RFC 3339")
			assert.True(t, parsed.Equal(tc.in), "the time must round-trip: want %v, got %v", tc.in, parsed)
		})
	}
	t.Run("now", func(t *testing.T) {
		got := one(t, func(re flowtrace.RunExporter) error {
			return re.AddLog(ctx, flowtrace.LogEntry{RunID: "r", Time: time.Now()})
		})
		assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$`, got["time"])
	})
}

func TestStringsAreEscaped(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"plain", "hello", "hello"},
		{"quotes and backslashes", `say "hi" \o/`, `say "hi" \o/`},
		{"newlines and tabs", "a\nb\r\tc", "a\nb\r\tc"},
		{"control characters", "\x00\x01\x1f\x7f", "\x00\x01\x1f\x7f"},
		{"html kept", "<b>&</b>", "<b>&</b>"},
		{"unicode", "héllo, 世界 👋", "héllo, 世界 👋"},
		{"line separators", "a\u2028b\u2029c", "a\u2028b\u2029c"},
		{"invalid utf-8", "a\xffb\xc3", "a\ufffdb\ufffd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			re, err := jsonl.New(&buf).StartRun(ctx, flowtrace.RunStart{RunID: tc.in})
			require.NoError(t, err)
			require.NoError(t, re.AddLog(ctx, flowtrace.LogEntry{RunID: tc.in, Name: tc.in, Message: tc.in}))
			require.Equal(t, 2, strings.Count(buf.String(), "\n"), "a string never breaks a line")
			for _, got := range lines(t, buf.String()) {
				assert.Equal(t, tc.want, got["run_id"], "the run ID must decode to what was given")
				if got["event"] == "log" {
					assert.Equal(t, tc.want, got["name"])
					assert.Equal(t, tc.want, got["message"])
				}
			}
		})
	}
}

func FuzzLogLine(f *testing.F) {
	for _, s := range []string{"", "plain", `"\`, "\n\x00", "\u2028", "\xff\xfe", "<&>", "👋"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, name, msg string) {
		var buf bytes.Buffer
		re, err := jsonl.New(&buf).StartRun(ctx, flowtrace.RunStart{RunID: "r"})
		require.NoError(t, err)
		buf.Reset()
		require.NoError(t, re.AddLog(ctx, flowtrace.LogEntry{RunID: "r", Name: name, Message: map[string]any{msg: msg, "s": msg}}))
		line := buf.Bytes()
		require.True(t, json.Valid(line), "the line must be valid JSON: %q", line)
		require.Equal(t, 1, bytes.Count(line, []byte("\n")), "one line: %q", line)
		var got struct {
			Name    string
			Message map[string]string
		}
		require.NoError(t, json.Unmarshal(line, &got))
		if utf8.ValidString(name) {
			assert.Equal(t, name, got.Name, "valid UTF-8 round-trips")
		}
		if utf8.ValidString(msg) {
			assert.Equal(t, msg, got.Message["s"], "valid UTF-8 round-trips")
		}
	})
}

type panicking struct{}

func (panicking) MarshalJSON() ([]byte, error) { panic("boom") }

type failing struct{}

func (failing) MarshalJSON() ([]byte, error) { return nil, errors.New("no way") }

func TestUnencodableValuesBecomeMarkers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		value  any
		reason string
	}{
		{"channel", make(chan int), "unsupported type: chan int"},
		{"function in a map", map[string]any{"f": func() {}}, "unsupported type: func()"},
		{"NaN", math.NaN(), "unsupported value: NaN"},
		{"failing MarshalJSON", failing{}, "no way"},
		{"panicking MarshalJSON", panicking{}, "panic: boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := one(t, func(re flowtrace.RunExporter) error {
				return re.AddLog(ctx, flowtrace.LogEntry{RunID: "r", Name: "n", Message: tc.value})
			})
			assert.Equal(t, "n", got["name"], "the rest of the line is kept")
			msg, _ := got["message"].(string)
			assert.True(t, strings.HasPrefix(msg, "!jsonl: cannot encode: "), "the message must be the marker, got %q", got["message"])
			assert.Contains(t, msg, tc.reason, "the marker says why")
		})
	}
	t.Run("in outputs values", func(t *testing.T) {
		got := one(t, func(re flowtrace.RunExporter) error {
			return re.SetOutputs(ctx, flowtrace.Outputs{RunID: "r", Values: flowtrace.FieldsOf(map[string]any{"c": make(chan int)})})
		})
		values, _ := got["values"].(map[string]any)
		assert.Contains(t, values["c"], "!jsonl: cannot encode: ", "the value must be the marker, the object kept")
	})
}

type errWriter struct{ n int }

func (w errWriter) Write(p []byte) (int, error) {
	if w.n >= 0 {
		return w.n, nil // a short write without an error
	}
	return 0, errors.New("disk full")
}

func TestWriteErrorsAreReturned(t *testing.T) {
	for _, tc := range []struct {
		name string
		w    errWriter
		want string
	}{
		{"write error", errWriter{n: -1}, "disk full"},
		{"short write", errWriter{n: 3}, io.ErrShortWrite.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			re, err := jsonl.New(tc.w).StartRun(ctx, flowtrace.RunStart{RunID: "r"})
			require.ErrorContains(t, err, tc.want, "StartRun returns the error of writing run_start")
			assert.Nil(t, re, "no RunExporter when run_start was not written")

			w := &switchWriter{}
			re, err = jsonl.New(w).StartRun(ctx, flowtrace.RunStart{RunID: "r"})
			require.NoError(t, err)
			w.fail.Store(&tc.w)
			for name, call := range map[string]func() error{
				"StartComponent": func() error { return re.StartComponent(ctx, flowtrace.ComponentStart{RunID: "r"}) },
				"AddLog":         func() error { return re.AddLog(ctx, flowtrace.LogEntry{RunID: "r"}) },
				"SetOutputs":     func() error { return re.SetOutputs(ctx, flowtrace.Outputs{RunID: "r"}) },
				"EndComponent":   func() error { return re.EndComponent(ctx, flowtrace.ComponentEnd{RunID: "r"}) },
				"EndRun":         func() error { return re.EndRun(ctx, flowtrace.RunEnd{RunID: "r"}) },
			} {
				assert.ErrorContains(t, call(), tc.want, "%s must return the writer's error", name)
			}
		})
	}
}

// switchWriter discards what it is given until fail is set, then fails
// like *fail.
type switchWriter struct {
	fail atomic.Pointer[errWriter]
}

func (w *switchWriter) Write(p []byte) (int, error) {
	if f := w.fail.Load(); f != nil {
		return f.Write(p)
	}
	return len(p), nil
}

type flushErrWriter struct{ io.Writer }

func (flushErrWriter) Flush() error { return errors.New("flush failed") }

func TestShutdownFlushes(t *testing.T) {
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	e := jsonl.New(bw)
	re, err := e.StartRun(ctx, flowtrace.RunStart{RunID: "r"})
	require.NoError(t, err)
	require.NoError(t, re.EndRun(ctx, flowtrace.RunEnd{RunID: "r"}))
	require.Zero(t, out.Len(), "a small output stays in the bufio.Writer until flushed")
	require.NoError(t, e.Shutdown(ctx))
	assert.Len(t, lines(t, out.String()), 2, "Shutdown flushes a writer with a Flush method")

	assert.NoError(t, jsonl.New(io.Discard).Shutdown(ctx), "Shutdown of a writer without Flush does nothing")
	assert.ErrorContains(t, jsonl.New(flushErrWriter{io.Discard}).Shutdown(ctx), "flush failed", "Shutdown returns the Flush error")
}

func TestNilWriterIsStdout(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stdout")
	require.NoError(t, err)
	defer f.Close()
	saved := os.Stdout
	os.Stdout = f
	defer func() { os.Stdout = saved }()

	for _, e := range []*jsonl.Exporter{jsonl.New(nil), new(jsonl.Exporter)} {
		_, err = e.StartRun(ctx, flowtrace.RunStart{RunID: "to-stdout"})
		require.NoError(t, err)
	}
	os.Stdout = saved
	out, err := os.ReadFile(f.Name())
	require.NoError(t, err)
	got := lines(t, string(out))
	require.Len(t, got, 2, "New(nil) and the zero Exporter write to os.Stdout")
	assert.Equal(t, "to-stdout", got[0]["run_id"])
}

// exclusiveWriter fails the test if two Write calls overlap, and writes
// each call's bytes to an unguarded buffer: the exporter must serialise.
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
	const runs, events = 50, 40
	w := &exclusiveWriter{t: t}
	e := jsonl.New(w)
	big := strings.Repeat("x", 3000) // long lines make interleaving visible
	var wg sync.WaitGroup
	for r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprint("run-", r)
			re, err := e.StartRun(ctx, flowtrace.RunStart{RunID: id})
			if !assert.NoError(t, err) {
				return
			}
			for i := range events {
				assert.NoError(t, re.AddLog(ctx, flowtrace.LogEntry{RunID: id, Name: fmt.Sprint(i), Message: map[string]any{"seq": i, "pad": big}}))
			}
			assert.NoError(t, re.EndRun(ctx, flowtrace.RunEnd{RunID: id}))
		}()
	}
	wg.Wait()

	got := lines(t, w.buf.String())
	require.Len(t, got, runs*(events+2), "every event is one line")
	assert.Equal(t, int64(len(got)), w.calls.Load(), "every line is exactly one Write call")
	next := map[string]int{}
	for _, l := range got {
		id := l["run_id"].(string)
		if l["event"] == "log" {
			assert.Equal(t, fmt.Sprint(next[id]), l["name"], "run %s: lines of one run stay in order", id)
			next[id]++
		}
	}
	for r := range runs {
		assert.Equal(t, events, next[fmt.Sprint("run-", r)], "run-%d has all its logs", r)
	}
}

func TestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	e := jsonl.New(io.Discard)
	re, err := e.StartRun(ctx, flowtrace.RunStart{RunID: "r"})
	require.NoError(t, err)
	l := flowtrace.LogEntry{RunID: "r", ComponentID: "c", Name: "prompt", Type: "text", Message: "What is the capital of France?", Time: t0}
	allocs := testing.AllocsPerRun(1000, func() { _ = re.AddLog(ctx, l) })
	assert.Zero(t, allocs, "a log with a string message must not allocate once the buffer pool is warm")
}

func BenchmarkAddLog(b *testing.B) {
	for _, bc := range []struct {
		name string
		msg  any
	}{
		{"string", "What is the capital of France?"},
		{"map", map[string]any{"question": "What is the capital of France?", "tokens": int64(12), "tags": []any{"a", "b"}}},
	} {
		e := jsonl.New(io.Discard)
		re, err := e.StartRun(ctx, flowtrace.RunStart{RunID: "r"})
		require.NoError(b, err)
		l := flowtrace.LogEntry{RunID: "r", ComponentID: "c", Name: "prompt", Type: "text", Message: bc.msg, Time: t0}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = re.AddLog(ctx, l)
			}
		})
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_ = re.AddLog(ctx, l)
				}
			})
		})
	}
}

// TestFieldOrderIsTheDocumented checks that each line's fields come in the
// order the package doc's table lists them.
func TestFieldOrderIsTheDocumented(t *testing.T) {
	order := []string{"event", "time", "run_id", "component_id", "parent_run_id", "parent_component_id",
		"run_name", "project_name", "user_id", "session_id", "trace_id", "parent_id", "name", "type",
		"inputs", "metadata", "tags", "span_id", "parent_span_id", "resumed", "message", "values", "outputs", "error", "suspended",
		"model", "provider", "parameters", "input_messages", "output_messages", "usage", "cost", "input_cost", "output_cost",
		"finish_reasons", "time_to_first_chunk_ms"}
	rank := make(map[string]int, len(order))
	for i, f := range order {
		rank[f] = i
	}
	var buf bytes.Buffer
	e := jsonl.New(&buf)
	ctx := context.Background()
	now := time.Now()
	re, err := e.StartRun(ctx, flowtrace.RunStart{RunID: "r", ParentRunID: "p", ParentComponentID: "pc", RunName: "n",
		ProjectName: "pr", UserID: "u", SessionID: "s", Inputs: flowtrace.FieldsOf(map[string]any{"i": 1}), Metadata: flowtrace.FieldsOf(map[string]any{"m": 1}), Tags: []string{"t"}, Resumed: true, Time: now})
	require.NoError(t, err)
	require.NoError(t, re.StartComponent(ctx, flowtrace.ComponentStart{RunID: "r", ComponentID: "c", ParentID: "p", Name: "n",
		Type: "t", Inputs: flowtrace.FieldsOf(map[string]any{"i": 1}), Metadata: flowtrace.FieldsOf(map[string]any{"m": 1}), Time: now}))
	require.NoError(t, re.AddLog(ctx, flowtrace.LogEntry{RunID: "r", ComponentID: "c", Name: "n", Message: "m", Type: "t", Time: now}))
	require.NoError(t, re.(flowtrace.InputsExporter).SetInputs(ctx, flowtrace.Inputs{RunID: "r", ComponentID: "c", Values: flowtrace.FieldsOf(map[string]any{"i": 2}), Time: now}))
	require.NoError(t, re.(flowtrace.ModelCallExporter).RecordModelCall(ctx, flowtrace.ModelCallRecord{RunID: "r", ComponentID: "c", Time: now, Call: flowtrace.ModelCall{
		Model: "m", Provider: "p", Parameters: map[string]any{"t": 0.5},
		Input:  []flowtrace.Message{{Role: "user", Content: "<q>"}},
		Output: []flowtrace.Message{{Role: "assistant", ToolCalls: []flowtrace.ToolCall{{ID: "1", Name: "f", Arguments: "{}"}}}},
		Usage:  flowtrace.Usage{InputTokens: 1, OutputTokens: 2}, Cost: 0.5, InputCost: 0.1, OutputCost: 0.4, FinishReasons: []string{"stop"}, TimeToFirstChunk: time.Millisecond,
	}}))
	require.NoError(t, re.SetOutputs(ctx, flowtrace.Outputs{RunID: "r", ComponentID: "c", Values: flowtrace.FieldsOf(map[string]any{"v": 1}), Time: now}))
	require.NoError(t, re.EndComponent(ctx, flowtrace.ComponentEnd{RunID: "r", ComponentID: "c", Err: errors.New("e"), Suspended: true, Time: now}))
	require.NoError(t, re.EndRun(ctx, flowtrace.RunEnd{RunID: "r", Outputs: flowtrace.FieldsOf(map[string]any{"o": 1}), Err: errors.New("e"), Suspended: true, Time: now}))
	require.Contains(t, buf.String(), `"input_cost":0.1,"output_cost":0.4`)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Contains(t, lines[4], `"usage":{"input_tokens":1,"output_tokens":2,"total_tokens":0`)
	require.Contains(t, lines[4], `"input_messages":[{"role":"user","content":"<q>"}]`)
	for _, line := range lines {
		require.True(t, json.Valid([]byte(line)), "valid JSON: %s", line)
		d := json.NewDecoder(strings.NewReader(line))
		_, err := d.Token() // {
		require.NoError(t, err)
		last := -1
		for d.More() {
			tok, err := d.Token()
			require.NoError(t, err)
			key := tok.(string)
			r, ok := rank[key]
			require.True(t, ok, "undocumented field %q in %s", key, line)
			require.Greater(t, r, last, "field %q out of the documented order in %s", key, line)
			last = r
			var skip json.RawMessage
			require.NoError(t, d.Decode(&skip))
		}
	}
}

func TestSuspendedAndResumedFlags(t *testing.T) {
	var buf bytes.Buffer
	_, err := jsonl.New(&buf).StartRun(ctx, flowtrace.RunStart{RunID: "r", Resumed: true})
	require.NoError(t, err)
	start := lines(t, buf.String())[0]
	assert.Equal(t, true, start["resumed"], "a continuation's run_start says resumed")

	_, err = jsonl.New(&buf).StartRun(ctx, flowtrace.RunStart{RunID: "r"})
	require.NoError(t, err)
	assert.NotContains(t, lines(t, buf.String())[1], "resumed", "a false flag is omitted")

	end := one(t, func(re flowtrace.RunExporter) error {
		return re.EndComponent(ctx, flowtrace.ComponentEnd{RunID: "r", ComponentID: "c", Suspended: true})
	})
	assert.Equal(t, true, end["suspended"])
	assert.NotContains(t, end, "error", "a suspended component has no error")
	runEnd := one(t, func(re flowtrace.RunExporter) error {
		return re.EndRun(ctx, flowtrace.RunEnd{RunID: "r", Suspended: true})
	})
	assert.Equal(t, true, runEnd["suspended"])
	plain := one(t, func(re flowtrace.RunExporter) error { return re.EndRun(ctx, flowtrace.RunEnd{RunID: "r"}) })
	assert.NotContains(t, plain, "suspended")
}

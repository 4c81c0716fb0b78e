package tracing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"testing/slogtest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/tracing"
)

// TestSlogHandlerPassThrough: the inner handler sees exactly what it
// would without the wrapper (slogtest's rules, against slog's JSON
// handler), inside a run and outside one.
func TestSlogHandlerPassThrough(t *testing.T) {
	svc, _ := newService(t)
	for _, inRun := range []bool{false, true} {
		name := "outside a run"
		if inRun {
			name = "inside a run"
		}
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			slogtest.Run(t, func(t *testing.T) slog.Handler {
				buf.Reset()
				h := tracing.SlogHandler(slog.NewJSONHandler(&buf, nil), svc)
				if !inRun {
					return h
				}
				ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
				require.NoError(t, err)
				t.Cleanup(func() { _, _ = svc.EndTracers(within(t, ctx), nil, nil) })
				return withCtx{h, ctx, nil}
			}, func(t *testing.T) map[string]any {
				var m map[string]any
				require.NoError(t, json.Unmarshal(buf.Bytes(), &m))
				return m
			})
		})
	}
}

// withCtx hands every record to its handler with ctx instead of the
// logger's (slogtest logs with context.Background), noting whether the
// record had a time.
type withCtx struct {
	slog.Handler
	ctx     context.Context
	hadTime *bool
}

func (h withCtx) Handle(_ context.Context, r slog.Record) error {
	if h.hadTime != nil {
		*h.hadTime = !r.Time.IsZero()
	}
	return h.Handler.Handle(h.ctx, r)
}
func (h withCtx) WithAttrs(as []slog.Attr) slog.Handler {
	return withCtx{h.Handler.WithAttrs(as), h.ctx, h.hadTime}
}
func (h withCtx) WithGroup(name string) slog.Handler {
	return withCtx{h.Handler.WithGroup(name), h.ctx, h.hadTime}
}

// TestSlogHandlerRunLogs: the logs the run records follow slog's rules
// too: slogtest against the run's log, as a map of the message (msg),
// the type (level) and the fields.
func TestSlogHandlerRunLogs(t *testing.T) {
	svc, rec := newService(t)
	var ctx context.Context
	var hadTime bool
	slogtest.Run(t, func(t *testing.T) slog.Handler {
		var err error
		ctx, err = svc.StartTracers(context.Background(), flowtrace.RunInfo{})
		require.NoError(t, err)
		return withCtx{tracing.SlogHandler(nil, svc), ctx, &hadTime}
	}, func(t *testing.T) map[string]any {
		sum, err := svc.EndTracers(within(t, ctx), nil, nil)
		require.NoError(t, err)
		run, ok := rec.Run(sum.RunID)
		require.True(t, ok)
		require.Len(t, run.Logs, 1)
		l := run.Logs[0]
		m := map[string]any{slog.MessageKey: l.Name, slog.LevelKey: l.Type}
		if hadTime {
			// The log has the time it was recorded at. slogtest's
			// zero-time case wants none: the record's time is left out
			// of the log by design, so its presence is not the handler's.
			m[slog.TimeKey] = l.Time
		}
		if l.Message != nil {
			fields, ok := l.Message.(map[string]any)
			require.True(t, ok, "the message is a map of the fields, got %T", l.Message)
			for k, v := range fields {
				m[k] = v
			}
		}
		return m
	})
}

func TestSlogHandlerScopesLevelsAndMasking(t *testing.T) {
	svc, rec := newService(t)
	var buf bytes.Buffer
	logger := slog.New(tracing.SlogHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}), svc)).
		With("service", "api").WithGroup("req")

	logger.InfoContext(context.Background(), "outside", "k", "v")
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	logger.WarnContext(ctx, "in run", "password", "hunter2", "n", 3)
	logger.DebugContext(ctx, "below the level")
	cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "llm"})
	logger.ErrorContext(cctx, "in component", slog.Group("http", "status", 502, "took", time.Second))
	logger.Log(cctx, slog.LevelInfo+2, "custom level")
	c.End(nil)
	sum, err := svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)

	assert.Equal(t, 4, bytes.Count(buf.Bytes(), []byte("\n")), "inner got every enabled record: %s", buf.String())
	assert.Contains(t, buf.String(), `"password":"hunter2"`, "inner gets the record as logged")

	run, _ := rec.Run(sum.RunID)
	require.Len(t, run.Logs, 1, "the debug record is below the logger's level, the outside one has no run")
	assert.Equal(t, "in run", run.Logs[0].Name)
	assert.Equal(t, "WARN", run.Logs[0].Type)
	assert.Equal(t, map[string]any{"service": "api", "req": map[string]any{"password": flowtrace.Masked, "n": int64(3)}}, run.Logs[0].Message,
		"fields masked like any value, groups nested")
	require.Len(t, run.Components, 1)
	logs := run.Components[0].Logs
	require.Len(t, logs, 2)
	assert.Equal(t, "in component", logs[0].Name)
	assert.Equal(t, "ERROR", logs[0].Type)
	req := logs[0].Message.(map[string]any)["req"].(map[string]any)
	assert.Equal(t, int64(502), req["http"].(map[string]any)["status"])
	assert.Equal(t, "INFO+2", logs[1].Type)
}

func TestSlogHandlerNilInnerAndService(t *testing.T) {
	svc, rec := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	runOnly := slog.New(tracing.SlogHandler(nil, svc))
	runOnly.DebugContext(ctx, "below Info")
	runOnly.InfoContext(ctx, "to the run only")
	slog.New(tracing.SlogHandler(slog.DiscardHandler, nil)).InfoContext(ctx, "nowhere")
	sum, err := svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	run, _ := rec.Run(sum.RunID)
	require.Len(t, run.Logs, 1)
	assert.Equal(t, "to the run only", run.Logs[0].Name)
	assert.Nil(t, run.Logs[0].Message, "no fields, no map")
}

func TestSlogHandlerUnsampledRun(t *testing.T) {
	svc, rec := newService(t, flowtrace.WithSampler(flowtrace.NeverSample()))
	var buf bytes.Buffer
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	slog.New(tracing.SlogHandler(slog.NewTextHandler(&buf, nil), svc)).InfoContext(ctx, "hello")
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	assert.Contains(t, buf.String(), "msg=hello")
	assert.Zero(t, rec.Len())
}

package memory_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

type order struct {
	ID    int      `json:"id"`
	Items []string `json:"items"`
	Token string   `json:"token"`
}

func TestSnapshot(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		want any
	}{
		{"int", 3, int64(3)},
		{"unsigned", uint8(3), uint64(3)},
		{"float32", float32(0.5), float64(0.5)},
		{"[]string", []string{"a", "b"}, []any{"a", "b"}},
		{"nested map", map[string]any{"n": 3, "tags": []string{"x"}, "m": map[string]int{"k": 1}},
			map[string]any{"n": int64(3), "tags": []any{"x"}, "m": map[string]any{"k": int64(1)}}},
		{"struct, a secret under its key", order{ID: 7, Items: []string{"book"}, Token: "tok_1"},
			map[string]any{"id": int64(7), "items": []any{"book"}, "token": flowtrace.Masked}},
		{"flowtrace.Secret", flowtrace.Secret("pw"), flowtrace.Masked},
		{"nil", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, memory.Snapshot(tc.in))
		})
	}
}

// TestSnapshotComparesWithWhatWasRecorded is the idiom the package doc
// shows: what a test passed, snapshotted, equals what the exporter kept;
// what it passed does not.
func TestSnapshotComparesWithWhatWasRecorded(t *testing.T) {
	rec := memory.New()
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(rec))
	require.NoError(t, err)
	defer func() { require.NoError(t, svc.Shutdown(context.Background())) }()
	outputs := map[string]any{"n": 3, "tags": []string{"a", "b"}, "order": order{ID: 1, Token: "tok_1"}, "api_key": "sk-1"}

	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "step"})
	svc.SetOutputs(cctx, outputs)
	c.End(nil)
	sum, err := svc.EndTracers(ctx, nil, nil)
	require.NoError(t, err)
	run, ok := rec.Run(sum.RunID)
	require.True(t, ok)
	got := run.Components[0].Outputs

	assert.NotEqual(t, outputs, got, "values come back as snapshots, not as passed")
	assert.Equal(t, memory.Snapshot(outputs), got)
	assert.EqualValues(t, 3, got["n"], "EqualValues converts a single number")
}

package flowtrace_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

func TestFields(t *testing.T) {
	f := flowtrace.FieldsOf(map[string]any{"b": 2, "a": "x", "c": []any{true}})
	assert.Equal(t, 3, f.Len())
	v, ok := f.Get("b")
	assert.True(t, ok)
	assert.Equal(t, 2, v)
	_, ok = f.Get("missing")
	assert.False(t, ok, "Get of a missing key")
	var keys []string
	for k := range f.All() {
		keys = append(keys, k)
	}
	assert.Equal(t, []string{"a", "b", "c"}, keys, "All yields in order of name")
	for range f.All() {
		break // stopping early must not panic
	}
	m := f.Map()
	m["a"] = "changed"
	v, _ = f.Get("a")
	assert.Equal(t, "x", v, "Map returns a map of the caller's own")
	j, err := json.Marshal(f)
	require.NoError(t, err)
	assert.JSONEq(t, `{"a":"x","b":2,"c":[true]}`, string(j))
	assert.Equal(t, `{"a":"x","b":2,"c":[true]}`, string(j), "keys in order")
	assert.Equal(t, "map[a:x b:2 c:[true]]", f.String(), "printed as fmt prints a map")
	assert.Equal(t, fmt.Sprint(map[string]any{"b": 2, "a": "x", "c": []any{true}}), fmt.Sprint(f))
}

func TestFieldsNilAndEmpty(t *testing.T) {
	var zero flowtrace.Fields
	empty := flowtrace.FieldsOf(map[string]any{})
	assert.True(t, zero.IsNil())
	assert.True(t, flowtrace.FieldsOf(nil).IsNil())
	assert.False(t, empty.IsNil(), "an empty map is not no map")
	assert.Equal(t, 0, zero.Len())
	assert.Equal(t, 0, empty.Len())
	assert.Nil(t, zero.Map())
	assert.NotNil(t, empty.Map())
	for j, want := range map[string]flowtrace.Fields{"null": zero, "{}": empty} {
		got, err := json.Marshal(want)
		require.NoError(t, err)
		assert.Equal(t, j, string(got))
	}
	_, ok := zero.Get("a")
	assert.False(t, ok)
}

func TestFieldsMarshalError(t *testing.T) {
	f := flowtrace.FieldsOf(map[string]any{"ch": make(chan int)}) // taken as it is, not snapshotted
	_, err := json.Marshal(f)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `field "ch"`, "the error names the field")
}

// TestRecordsCarryFieldsInOrder checks what callers pass becomes Fields in
// records: snapshotted, masked, sorted, and nil kept apart from empty.
func TestRecordsCarryFieldsInOrder(t *testing.T) {
	exp := memory.New()
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(exp))
	require.NoError(t, err)
	defer func() { require.NoError(t, svc.Shutdown(context.Background())) }()
	in := map[string]any{"z": 1, "api_key": "sk-0123456789", "a": map[string]any{"k": "v"}}
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{Inputs: in, Metadata: map[string]any{}})
	require.NoError(t, err)
	cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c", Inputs: in})
	in["z"] = 2 // after the call: not seen
	svc.SetOutputs(cctx, map[string]any{"y": 1, "x": 2})
	c.End(nil)
	sum, err := svc.EndTracers(ctx, nil, nil)
	require.NoError(t, err)
	run, ok := exp.Run(sum.RunID)
	require.True(t, ok)

	for _, f := range []flowtrace.Fields{run.Info.Inputs, run.Components[0].Info.Inputs} {
		var keys []string
		for k := range f.All() {
			keys = append(keys, k)
		}
		assert.Equal(t, []string{"a", "api_key", "z"}, keys)
		assert.Equal(t, map[string]any{"z": int64(1), "api_key": flowtrace.Masked, "a": map[string]any{"k": "v"}}, f.Map())
	}
	assert.False(t, run.Info.Metadata.IsNil(), "an empty map stays empty, not nil")
	assert.True(t, run.Components[0].Info.Metadata.IsNil(), "no map stays nil")
	assert.Equal(t, map[string]any{"x": int64(2), "y": int64(1)}, run.Components[0].Outputs)
}

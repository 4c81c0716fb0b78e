package values

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCloneCopiesEveryContainer(t *testing.T) {
	orig := map[string]any{
		"s": "text", "b": true, "i": int64(-1), "u": uint64(1), "f": 1.5, "nil": nil,
		"empty":    map[string]any{},
		"nilMap":   map[string]any(nil),
		"emptyArr": []any{},
		"nilArr":   []any(nil),
		"deep":     map[string]any{"list": []any{map[string]any{"k": "v"}, []any{int64(1)}}},
	}
	want := map[string]any{
		"s": "text", "b": true, "i": int64(-1), "u": uint64(1), "f": 1.5, "nil": nil,
		"empty":    map[string]any{},
		"nilMap":   map[string]any(nil),
		"emptyArr": []any{},
		"nilArr":   []any(nil),
		"deep":     map[string]any{"list": []any{map[string]any{"k": "v"}, []any{int64(1)}}},
	}
	got := CloneMap(orig)
	require.Equal(t, want, got, "the clone has the same content, nil and empty containers kept apart")
	assert.Nil(t, got["nilMap"].(map[string]any))
	assert.NotNil(t, got["empty"].(map[string]any))

	got["s"] = "changed"
	got["empty"].(map[string]any)["new"] = 1
	got["emptyArr"] = append(got["emptyArr"].([]any), 1)
	deep := got["deep"].(map[string]any)["list"].([]any)
	deep[0].(map[string]any)["k"] = "changed"
	deep[1].([]any)[0] = "changed"
	assert.Equal(t, want, orig, "changing the clone at any depth leaves the original alone")

	assert.Nil(t, CloneMap(nil))
	assert.Equal(t, "x", Clone("x"))
	assert.Nil(t, Clone(nil))
}

func TestCloneOfASnapshotIsEqual(t *testing.T) {
	v := snapValue(t, Config{}, map[string]any{"a": []int{1, 2}, "m": map[int]string{1: "x"}, "e": map[string]any{}})
	assert.True(t, reflect.DeepEqual(v, Clone(v)), "a clone of a snapshot is deeply equal to it")
}

func TestCloneSharesOtherTypes(t *testing.T) {
	typed := []string{"a"}
	got := CloneMap(map[string]any{"typed": typed})
	got["typed"].([]string)[0] = "b"
	assert.Equal(t, "b", typed[0], "values of types a snapshot never holds are shared, as documented")
}

func TestCloneOfACycleTerminates(t *testing.T) {
	m := map[string]any{"name": "loop"}
	m["self"] = m
	s := make([]any, 1)
	s[0] = s
	got := CloneMap(map[string]any{"m": m, "s": s})
	c := got["m"].(map[string]any)
	assert.False(t, reflect.ValueOf(c).UnsafePointer() == reflect.ValueOf(m).UnsafePointer(), "the top of the cycle is copied")
	assert.Equal(t, "loop", c["self"].(map[string]any)["name"])
	assert.NotNil(t, got["s"])
}

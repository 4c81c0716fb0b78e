package values

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func kvMap(kvs []KV) map[string]any {
	if kvs == nil {
		return nil
	}
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

// TestFieldsMatchesMap checks that the ordered snapshot holds what the map
// snapshot holds, sorted by key, and spends the same budget.
func TestFieldsMatchesMap(t *testing.T) {
	long := strings.Repeat("k", 300)
	for _, tc := range []struct {
		name string
		cfg  Config
		m    map[string]any
	}{
		{"nil", Config{}, nil},
		{"empty", Config{}, map[string]any{}},
		{"scalars", Config{}, map[string]any{"q": "hello", "n": 3, "ok": true, "f": 2.5}},
		{"masked", Config{}, map[string]any{"api_key": "sk-123456789", "max_tokens": 5}},
		{"nested", Config{}, map[string]any{"msg": map[string]any{"password": "x", "list": []any{1, "a"}}}},
		{"error", Config{}, map[string]any{"err": errors.New("boom")}},
		{"bytes cut", Config{MaxBytes: 40}, map[string]any{"a": strings.Repeat("x", 20), "b": strings.Repeat("y", 20), "c": "z"}},
		{"items cut", Config{MaxItems: 2}, map[string]any{"a": 1, "b": 2, "c": 3, "d": 4}},
		{"long keys", Config{}, map[string]any{long + "1": 1, long + "2": 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSnap(t, tc.cfg)
			bm, bf := s.NewBudget(), s.NewBudget()
			want := s.Map(&bm, tc.m)
			got := s.Fields(&bf, tc.m)
			assert.Equal(t, tc.m == nil, got == nil, "nil for nil, non-nil otherwise")
			assert.True(t, slices.IsSortedFunc(got, func(a, b KV) int { return strings.Compare(a.Key, b.Key) }), "sorted by key: %v", got)
			if tc.name == "bytes cut" {
				// Which entries fit depends on the map's order, for both.
				assert.Contains(t, kvMap(got), MarkerKey, "the cut is marked")
				assert.LessOrEqual(t, bf.Used(), tc.cfg.MaxBytes+80, "the budget is kept, but for the marker")
				return
			}
			assert.Equal(t, want, kvMap(got), "the same entries as Map")
			assert.Equal(t, bm.Used(), bf.Used(), "the same budget spent as Map")
		})
	}
}

func BenchmarkFieldsVsMap(b *testing.B) {
	s := defaultSnapshotter
	in := map[string]any{"q": "hello", "model": "gpt", "n": 3}
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			bu := s.NewBudget()
			_ = s.Map(&bu, in)
		}
	})
	b.Run("fields", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			bu := s.NewBudget()
			_ = s.Fields(&bu, in)
		}
	})
}

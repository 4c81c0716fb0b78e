//go:build !race

package values

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Allocation counts are pinned here, where the race detector, which
// allocates on its own, is off.

func TestAllocs(t *testing.T) {
	s := newSnap(t, Config{})
	small := map[string]any{"q": "hello", "n": 3, "ok": true}
	masked := map[string]any{"api_key": "k", "Authorization": "a", "q": "hello"}
	empty := map[string]any{}
	tests := []struct {
		name string
		want float64
		f    func()
	}{
		{"nil map", 0, func() { b := s.NewBudget(); s.Map(&b, nil) }},
		{"empty map, a map of its own", 1, func() { b := s.NewBudget(); s.Map(&b, empty) }},
		{"small map, the new map only", 2, func() { b := s.NewBudget(); s.Map(&b, small) }},
		{"masked keys, the new map only", 2, func() { b := s.NewBudget(); s.Map(&b, masked) }},
		{"string", 0, func() { b := s.NewBudget(); s.Value(&b, "hello") }},
		{"int64", 0, func() { b := s.NewBudget(); s.Value(&b, int64(1<<40)) }},
		{"masking check", 0, func() { s.masked("X-Refresh-TOKEN") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := testing.AllocsPerRun(100, tt.f)
			assert.Equal(t, tt.want, got, "allocations per snapshot, want %v", tt.want)
		})
	}
}

// TestHugeStringBytes checks that snapshotting a 50 MB string allocates
// about MaxString bytes, not 50 MB.
func TestHugeStringBytes(t *testing.T) {
	s := newSnap(t, Config{})
	m := map[string]any{"body": strings.Repeat("x", 50<<20)}
	r := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			bud := s.NewBudget()
			s.Map(&bud, m)
		}
	})
	assert.Less(t, r.AllocedBytesPerOp(), int64(2*DefaultMaxString), "bytes allocated per snapshot of a 50 MB string, want about MaxString")
}

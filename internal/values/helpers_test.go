package values

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// newSnap returns a Snapshotter for cfg, failing the test if New refuses it.
func newSnap(t testing.TB, cfg Config) *Snapshotter {
	t.Helper()
	s, err := New(cfg)
	require.NoError(t, err, "New(%+v) should accept the config", cfg)
	return s
}

// snapValue snapshots v with a Snapshotter for cfg and a fresh budget.
func snapValue(t testing.TB, cfg Config, v any) any {
	t.Helper()
	s := newSnap(t, cfg)
	b := s.NewBudget()
	return s.Value(&b, v)
}

// marshal returns the JSON of a snapshot, which must always marshal.
func marshal(t testing.TB, v any) string {
	t.Helper()
	j, err := json.Marshal(v)
	require.NoError(t, err, "a snapshot should always marshal to JSON")
	return string(j)
}

// checkTree fails unless v is made only of the output types.
func checkTree(t testing.TB, v any) {
	t.Helper()
	switch x := v.(type) {
	case nil, string, bool, int64, uint64, float64:
	case map[string]any:
		for _, e := range x {
			checkTree(t, e)
		}
	case []any:
		for _, e := range x {
			checkTree(t, e)
		}
	default:
		t.Fatalf("snapshot holds a %T, want only map[string]any, []any, string, bool, int64, uint64, float64 or nil", v)
	}
}

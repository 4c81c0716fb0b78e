//go:build !race

package flowtrace_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
)

// TestReviewCoreHeapReturnsToBaseline: 100,000 runs started, written and
// ended leave nothing behind (the active-runs list, the components' tails,
// the tracing maps' pool): the live heap afterwards is within a few MiB
// of what it was after the first thousand, where a leak of one run's state
// would show as tens of MiB.
func TestReviewCoreHeapReturnsToBaseline(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 runs")
	}
	d := &discardExporter{}
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(d))
	require.NoError(t, err)
	defer func() { assert.NoError(t, svc.Shutdown(deadline(t))) }()
	runs := func(n int) {
		for i := range n {
			ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{Metadata: map[string]any{"i": i}})
			require.NoError(t, err)
			cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c"})
			svc.AddLog(cctx, flowtrace.Log{Name: "l", Message: i})
			svc.SetOutputs(cctx, map[string]any{"o": i})
			c.End(nil)
			_, err = svc.EndTracers(ctx, map[string]any{"r": i}, nil)
			require.NoError(t, err)
		}
	}
	live := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	runs(1000)
	base := live()
	runs(100_000)
	after := live()
	t.Logf("live heap: %d bytes after 1,000 runs, %d after 101,000", base, after)
	assert.Zero(t, svc.Stats().RunsActive)
	const slack = 4 << 20
	assert.Less(t, after, base+slack, "live heap %d bytes after 100,000 runs, %d after 1,000", after, base)
}

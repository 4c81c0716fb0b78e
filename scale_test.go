package flowtrace_test

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowtrace/flowtrace"
)

// The scale and memory figures of issue 12. They log what they measure
// (go test -v -run TestScale) and bound only an order-of-magnitude
// regression: the targets themselves are the benchmarks' business.

// openRuns opens n runs with one open component each and returns their
// ctxs, for the caller to end.
func openRuns(t *testing.T, svc *flowtrace.TraceService, ctxs []context.Context) {
	t.Helper()
	for i := range ctxs {
		ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "open"})
		require.NoError(t, err)
		ctxs[i], _ = svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "OpenAI", Type: "llm"})
	}
}

// heapNow returns the live heap after a full collection.
func heapNow() (bytes, objects uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, ms.HeapObjects
}

func newScaleService(t *testing.T, opts ...flowtrace.Option) *flowtrace.TraceService {
	t.Helper()
	svc, err := flowtrace.NewTraceService(append([]flowtrace.Option{flowtrace.WithExporter(&discardExporter{}),
		flowtrace.WithOverflow(flowtrace.BlockFor(time.Minute)), flowtrace.WithErrorHandler(func(error) {})}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, svc.Shutdown(context.Background())) })
	return svc
}

// TestScaleHeapPerOpenRun holds many runs open, one open component in each,
// and measures the live heap they hold (their events delivered or queued
// included). The target is 1 KiB a run; the bound is 16 KiB.
func TestScaleHeapPerOpenRun(t *testing.T) {
	n := 100_000
	if testing.Short() || raceEnabled {
		n = 10_000
	}
	svc := newScaleService(t)
	ctxs := make([]context.Context, n)
	b0, o0 := heapNow()
	openRuns(t, svc, ctxs)
	b1, o1 := heapNow()
	perRun := float64(int64(b1)-int64(b0)) / float64(n)
	objs := float64(int64(o1)-int64(o0)) / float64(n)
	t.Logf("heap per open run (%d open, one component each): %.0f B, %.1f objects", n, perRun, objs)
	assert.Less(t, perRun, 16*1024.0, "heap per open run")
	runtime.KeepAlive(ctxs)

	// The SDK's counterpart, for the table: a root span and one child open.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(&discardSpans{}))
	t.Cleanup(func() { assert.NoError(t, tp.Shutdown(context.Background())) })
	tracer := tp.Tracer("scale")
	spans := make([]trace.Span, 0, 2*n)
	b0, o0 = heapNow()
	for range n {
		ctx, root := tracer.Start(context.Background(), "open")
		_, child := tracer.Start(ctx, "OpenAI", otelStart)
		spans = append(spans, root, child)
	}
	b1, o1 = heapNow()
	t.Logf("OTel SDK heap per open root span with one open child (%d open): %.0f B, %.1f objects", n,
		float64(int64(b1)-int64(b0))/float64(n), float64(int64(o1)-int64(o0))/float64(n))
	for _, s := range spans {
		s.End()
	}
}

// TestScaleNoGoroutinePerRun opens runs by the thousand and checks that the
// number of goroutines does not grow with them.
func TestScaleNoGoroutinePerRun(t *testing.T) {
	svc := newScaleService(t)
	// One run first, so that whatever the service starts once is running.
	openRuns(t, svc, make([]context.Context, 1))
	g0 := runtime.NumGoroutine()
	ctxs := make([]context.Context, 2_000)
	openRuns(t, svc, ctxs)
	g1 := runtime.NumGoroutine()
	t.Logf("goroutines: %d with one run open, %d with %d more", g0, g1, len(ctxs))
	assert.Less(t, g1-g0, 10, "goroutines grew with %d open runs", len(ctxs))
	runtime.KeepAlive(ctxs)
}

// TestScaleCostPerComponent records the same number of components in runs
// of 10 to 10,000 components, and spread over 1 to 10,000 runs open at
// once, and measures each component (time and allocations, the delivery
// goroutine's included; starting and ending the runs excluded). It logs
// the time, the best of five trials (the least disturbed by the rest of
// a shared machine), and asserts only that allocations per component stay
// flat: none more than twice the fewest, plus one.
func TestScaleCostPerComponent(t *testing.T) {
	total, sizes, concurrent := 10_000, []int{10, 100, 1_000, 10_000}, []int{1, 10, 100, 1_000, 10_000}
	if testing.Short() || raceEnabled {
		total, sizes, concurrent = 1_000, []int{10, 100, 1_000}, []int{1, 10, 100, 1_000}
	}
	// A queue that holds all of a measure's events: the caller's cost is
	// measured, never a wait for the worker to make room, which only the
	// largest runs (40,000 events) would otherwise pay.
	svc := newScaleService(t, flowtrace.WithQueueSize(1<<17))
	// measure records total components spread round-robin over open runs
	// of size each, open at most concurrent at a time.
	measure := func(size, open int) (ns, allocs float64) {
		var spent time.Duration
		var mallocs uint64
		var ms runtime.MemStats
		for done := 0; done < total; done += size * open {
			ctxs := make([]context.Context, open)
			for i := range ctxs {
				ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "scale"})
				require.NoError(t, err)
				ctxs[i] = ctx
			}
			runtime.ReadMemStats(&ms)
			m0, start := ms.Mallocs, time.Now()
			for range size {
				for _, ctx := range ctxs {
					ftComponent(svc, ctx, false)
				}
			}
			spent += time.Since(start)
			runtime.ReadMemStats(&ms)
			mallocs += ms.Mallocs - m0
			for _, ctx := range ctxs {
				sum, err := svc.EndTracers(ctx, nil, nil)
				require.NoError(t, err)
				d := sum.Exporters["discard"]
				require.Equal(t, d.Emitted, d.Delivered, "nothing lost: %+v", d)
			}
		}
		return float64(spent.Nanoseconds()) / float64(total), float64(mallocs) / float64(total)
	}
	type point struct {
		name   string
		allocs float64
	}
	best := func(size, open int) (ns, allocs float64) {
		ns = math.Inf(1)
		for range 5 {
			runtime.GC() // each trial from a collected heap, so no trial pays for another's garbage
			n, a := measure(size, open)
			ns, allocs = min(ns, n), a
		}
		return ns, allocs
	}
	var points []point
	for _, size := range sizes {
		ns, allocs := best(size, 1)
		t.Logf("%6d components per run: %6.0f ns, %5.2f allocs per component", size, ns, allocs)
		points = append(points, point{fmt.Sprintf("%d per run", size), allocs})
	}
	for _, open := range concurrent {
		ns, allocs := best(total/open, open)
		t.Logf("%6d runs open at once: %6.0f ns, %5.2f allocs per component", open, ns, allocs)
		points = append(points, point{fmt.Sprintf("%d open", open), allocs})
	}
	fewest := points[0].allocs
	for _, p := range points {
		fewest = min(fewest, p.allocs)
	}
	for _, p := range points {
		assert.LessOrEqual(t, p.allocs, 2*fewest+1, "allocs per component at %s, against %.2f at best", p.name, fewest)
	}
}

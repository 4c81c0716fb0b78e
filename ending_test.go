package flowtrace_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEndTracersDeliversLastOutputs ends 1,000 runs right after their final
// SetOutputs; every final output is in the exporter when EndTracers returns.
func TestEndTracersDeliversLastOutputs(t *testing.T) {
	svc, rec, _ := newService(t)
	var wg sync.WaitGroup
	for i := range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
			if !assert.NoError(t, err) {
				return
			}
			cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "last"})
			svc.SetOutputs(cctx, map[string]any{"final": i})
			c.End(nil)
			svc.SetOutputs(ctx, map[string]any{"final": i})
			sum, err := svc.EndTracers(ctx, nil, nil)
			if !assert.NoError(t, err) {
				return
			}
			run, ok := rec.Run(sum.RunID)
			if assert.True(t, ok) && assert.True(t, run.Ended) {
				assert.Equal(t, int64(i), run.Outputs["final"], "final run output delivered before EndTracers returned")
				assert.Equal(t, int64(i), run.Components[0].Outputs["final"])
			}
		}()
	}
	wg.Wait()
}

// TestStrayWritersRacingTheEnd has goroutines keep writing in a tight loop
// while their run ends and the service shuts down.
func TestStrayWritersRacingTheEnd(t *testing.T) {
	rec := memory.New()
	// The writers below never pause and keep both CPUs of a test machine
	// busy, so the delivery worker runs only when the scheduler preempts
	// them. A small queue and a few dozen writers keep each EndTracers to a
	// handful of worker time slices: what is tested here is that nothing
	// panics and every write is counted, not throughput under starvation.
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(rec), flowtrace.WithQueueSize(64), flowtrace.WithErrorHandler(func(error) {}))
	require.NoError(t, err)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	stopWriters := sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(stopWriters) // even when an assertion below fails
	const runs, writersPerRun = 8, 4
	var ctxs []context.Context
	for range runs {
		ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
		require.NoError(t, err)
		ctxs = append(ctxs, ctx)
		cctx, _ := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "spawner"})
		for range writersPerRun {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					svc.AddLog(cctx, flowtrace.Log{Name: "stray"})
					svc.SetOutputs(ctx, map[string]any{"x": 1})
					_, c := svc.TraceComponent(cctx, flowtrace.ComponentInfo{Name: "stray child"})
					c.End(nil)
				}
			}()
		}
	}
	for _, ctx := range ctxs[:runs/2] { // the other half is ended by Shutdown
		sum, err := svc.EndTracers(ctx, nil, nil)
		require.NoError(t, err)
		requireBalanced(t, sum)
	}
	require.NoError(t, svc.Shutdown(deadline(t)))
	stopWriters()
	st := svc.Stats()
	assert.NotZero(t, st.Late, "writes after the end are counted late")
	assert.Zero(t, st.RunsActive)
	requireStatsBalanced(t, st)
	for _, r := range rec.Runs() {
		assert.True(t, r.Ended)
		for _, c := range r.Components {
			assert.True(t, c.Ended, "every delivered component is ended")
		}
	}
}

func TestShutdownRacingStartTracers(t *testing.T) {
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(memory.New()), flowtrace.WithErrorHandler(func(error) {}))
	require.NoError(t, err)
	var wg sync.WaitGroup
	var refused atomic.Int64
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
				if err != nil {
					assert.ErrorIs(t, err, flowtrace.ErrShutdown)
					refused.Add(1)
					continue
				}
				svc.AddLog(ctx, flowtrace.Log{Name: "l"})
				_, _ = svc.EndTracers(ctx, nil, nil)
			}
		}()
	}
	var swg sync.WaitGroup
	for range 3 {
		swg.Add(1)
		go func() {
			defer swg.Done()
			assert.NoError(t, svc.Shutdown(deadline(t)))
		}()
	}
	swg.Wait()
	_, err = svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	assert.ErrorIs(t, err, flowtrace.ErrShutdown, "once Shutdown has returned, every new run is refused")
	wg.Wait()
	assert.Zero(t, svc.Stats().RunsActive)
	requireStatsBalanced(t, svc.Stats())
}

// TestEndTracersWithDoneCtxStartsNoGoroutine ends a run with a ctx done
// already, as tracing.Middleware does: the run is closed and delivered,
// and nothing watches the ctx (context.AfterFunc would start a goroutine
// per run to call what the closer can call itself).
func TestEndTracersWithDoneCtxStartsNoGoroutine(t *testing.T) {
	svc, rec, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "open"})
	svc.SetOutputs(cctx, map[string]any{"n": 1})
	_ = c // left open: the run's end ends it
	done := &watchedDoneCtx{Context: ctx}
	before := runtime.NumGoroutine()
	sum, _ := svc.EndTracers(done, map[string]any{"status": 200}, nil) // its error is a delivery still pending, or none
	after := runtime.NumGoroutine()
	assert.Zero(t, done.watched.Load(), "Done asked for a ctx done already: something watches it")
	assert.LessOrEqual(t, after, before, "goroutines after EndTracers with a done ctx, wanted none started")

	require.NoError(t, svc.Shutdown(deadline(t)))
	run, ok := rec.Run(sum.RunID)
	require.True(t, ok, "run delivered")
	assert.True(t, run.Ended, "run end delivered")
	assert.Equal(t, int64(200), run.Outputs["status"])
	require.Len(t, run.Components, 1)
	assert.ErrorIs(t, run.Components[0].Err, flowtrace.ErrComponentNotEnded)
}

// watchedDoneCtx is done from the start, and counts the calls of Done: a
// caller that watches a ctx asks for its Done channel.
type watchedDoneCtx struct {
	context.Context
	watched atomic.Int32
}

func (c *watchedDoneCtx) Done() <-chan struct{} {
	c.watched.Add(1)
	ch := make(chan struct{})
	close(ch)
	return ch
}

func (c *watchedDoneCtx) Err() error { return context.Canceled }

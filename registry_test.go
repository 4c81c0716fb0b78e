package flowtrace_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

// TestReregisteredExporterIsShutDownOnce unregisters an exporter while a
// run uses it and registers it again at once: it is shut down once, after
// the last run that used it, not when the run of its first registration
// ends while the second registration still uses it.
func TestReregisteredExporterIsShutDownOnce(t *testing.T) {
	svc, _, errs := newService(t)
	e := newFuncExporter("again", nil)
	require.NoError(t, svc.RegisterExporter(e))
	first, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	require.NoError(t, svc.UnregisterExporter("again"))
	require.NoError(t, svc.RegisterExporter(e))
	second, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)

	sum, err := svc.EndTracers(within(t, first), nil, nil)
	require.NoError(t, err)
	requireBalanced(t, sum)
	assert.Zero(t, e.shutdown.Load(), "the exporter is still registered: it must not be shut down")

	svc.AddLog(second, flowtrace.Log{Name: "still delivered"})
	sum, err = svc.EndTracers(within(t, second), nil, nil)
	require.NoError(t, err)
	assert.Equal(t, flowtrace.Delivery{Emitted: 3, Delivered: 3}, sum.Exporters["again"])
	require.NoError(t, svc.Shutdown(deadline(t)))
	assert.Equal(t, int32(1), e.shutdown.Load(), "shut down once, by Shutdown")
	assert.Empty(t, errs.all())
}

// TestPanickingNameIsAnError gives NewTraceService and RegisterExporter an
// exporter whose Name panics: both return an error wrapping
// ErrExporterPanic instead of panicking.
func TestPanickingNameIsAnError(t *testing.T) {
	bad := panickyName{memory.New()}
	var svc *flowtrace.TraceService
	var err error
	require.NotPanics(t, func() { svc, err = flowtrace.NewTraceService(flowtrace.WithExporter(bad)) })
	require.ErrorIs(t, err, flowtrace.ErrInvalidOption)
	require.ErrorIs(t, err, flowtrace.ErrExporterPanic)
	require.Nil(t, svc)

	good, _, _ := newService(t)
	require.NotPanics(t, func() { err = good.RegisterExporter(bad) })
	require.ErrorIs(t, err, flowtrace.ErrInvalidOption)
	require.ErrorIs(t, err, flowtrace.ErrExporterPanic)
	require.Equal(t, []string{"memory"}, good.Exporters())
}

// TestExportersChangeWhileRunsAreInFlight registers and unregisters
// exporters in a loop while 500 runs go on. Each run delivers to exactly
// the exporters it started with, and a removed exporter is shut down after
// its last run.
func TestExportersChangeWhileRunsAreInFlight(t *testing.T) {
	svc, _, errs := newService(t)
	var (
		mu        sync.Mutex
		exporters []*memory.Exporter
		names     = map[*memory.Exporter]string{}
	)
	stop := make(chan struct{})
	churned := make(chan struct{})
	go func() {
		defer close(churned)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			name := fmt.Sprint("dyn-", i)
			e := memory.New()
			if !assert.NoError(t, svc.RegisterExporter(named{e, name})) {
				return
			}
			mu.Lock()
			exporters = append(exporters, e)
			names[e] = name
			mu.Unlock()
			if i > 1 {
				assert.NoError(t, svc.UnregisterExporter(fmt.Sprint("dyn-", i-2)))
			}
		}
	}()
	var wg sync.WaitGroup
	sums := make([]flowtrace.RunSummary, 500)
	for i := range sums {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
			if !assert.NoError(t, err) {
				return
			}
			cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c"})
			svc.AddLog(cctx, flowtrace.Log{Name: "l"})
			c.End(nil)
			sums[i], err = svc.EndTracers(ctx, nil, nil)
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	close(stop)
	<-churned
	require.Empty(t, errs.all())
	mu.Lock()
	defer mu.Unlock()
	for _, sum := range sums {
		requireBalanced(t, sum)
		for _, e := range exporters {
			run, has := e.Run(sum.RunID)
			_, named := sum.Exporters[names[e]]
			require.Equal(t, named, has, "run %s: the summary names %s exactly when that exporter received the run", sum.RunID, names[e])
			if has {
				require.True(t, run.Ended)
				require.Len(t, run.Components, 1)
			}
		}
	}
	// Every exporter, removed or not, is shut down exactly once: removed ones
	// after their last run, the rest by Shutdown.
	require.NoError(t, svc.Shutdown(deadline(t)))
	for _, e := range exporters {
		require.Equal(t, 1, e.Shutdowns(), "%s shut down once", names[e])
	}
}

func TestRemovedExporterIsShutDownAfterItsLastRun(t *testing.T) {
	svc, _, errs := newService(t)
	dyn := &signalExporter{Exporter: memory.New(), name: "dyn", shut: make(chan struct{})}
	require.NoError(t, svc.RegisterExporter(dyn))
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	require.NoError(t, svc.UnregisterExporter("dyn"))
	assert.NotContains(t, svc.Exporters(), "dyn", "new runs no longer deliver to a removed exporter")

	// The run started with it still delivers to it, and it is not shut down.
	svc.AddLog(ctx, flowtrace.Log{Name: "after unregister"})
	select {
	case <-dyn.shut:
		t.Fatal("the exporter was shut down while a run still used it")
	default:
	}
	sum, err := svc.EndTracers(ctx, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, flowtrace.Delivery{Emitted: 3, Delivered: 3}, sum.Exporters["dyn"])
	run, ok := dyn.Run(sum.RunID)
	require.True(t, ok)
	assert.Len(t, run.Logs, 1)

	// Its last run ended: it is shut down, without waiting for the service's.
	select {
	case <-dyn.shut:
	case <-deadline(t).Done():
		t.Fatal("the removed exporter was not shut down after its last run")
	}
	assert.Equal(t, 1, dyn.Shutdowns())
	assert.ErrorIs(t, svc.UnregisterExporter("dyn"), flowtrace.ErrExporterNotFound)
	assert.Empty(t, errs.all())
}

// TestExporterLimit checks that a service refuses an exporter beyond
// MaxExporters, from the constructor and from RegisterExporter.
func TestExporterLimit(t *testing.T) {
	opts := make([]flowtrace.Option, 0, flowtrace.MaxExporters+1)
	for i := range flowtrace.MaxExporters + 1 {
		opts = append(opts, flowtrace.WithExporter(newFuncExporter(fmt.Sprint("e", i), nil)))
	}
	_, err := flowtrace.NewTraceService(opts...)
	require.ErrorIs(t, err, flowtrace.ErrTooManyExporters)

	svc, err := flowtrace.NewTraceService(opts[:flowtrace.MaxExporters]...)
	require.NoError(t, err)
	assert.ErrorIs(t, svc.RegisterExporter(newFuncExporter("one-more", nil)), flowtrace.ErrTooManyExporters)
	require.NoError(t, svc.UnregisterExporter("e0"))
	assert.NoError(t, svc.RegisterExporter(newFuncExporter("one-more", nil)), "room after a removal")
	require.NoError(t, svc.Shutdown(deadline(t)))
}

// TestStatsCountsARemovedExporterOnce reads Stats while exporters are
// removed and shut down one after another: each served one run of three
// events, and Stats must never count one twice.
func TestStatsCountsARemovedExporterOnce(t *testing.T) {
	svc, _, _ := newService(t)
	var current atomic.Pointer[string]
	current.Store(new(string))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var worst atomic.Uint64
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				name := *current.Load()
				if d, ok := svc.Stats().Exporters[name]; ok && d.Emitted > worst.Load() {
					worst.Store(d.Emitted)
				}
			}
		}()
	}
	for i := range 100 {
		name := fmt.Sprint("x", i)
		ex := &signalExporter{Exporter: memory.New(), name: name, shut: make(chan struct{})}
		require.NoError(t, svc.RegisterExporter(ex))
		ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
		require.NoError(t, err)
		svc.AddLog(ctx, flowtrace.Log{Name: "l"})
		_, err = svc.EndTracers(within(t, ctx), nil, nil)
		require.NoError(t, err)
		current.Store(&name)
		require.NoError(t, svc.UnregisterExporter(name))
		select {
		case <-ex.shut:
		case <-deadline(t).Done():
			t.Fatal("a removed exporter was not shut down")
		}
	}
	close(stop)
	wg.Wait()
	assert.LessOrEqual(t, worst.Load(), uint64(3), "Stats counted a removed exporter's run twice")
}

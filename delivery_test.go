package flowtrace_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

// funcExporter is an exporter whose every call runs hook (which may sleep,
// block, fail or panic) before recording into an inner memory exporter.
type funcExporter struct {
	name     string
	rec      *memory.Exporter
	onStart  func(ctx context.Context, r flowtrace.RunStart) error
	hook     func(ctx context.Context, method string) error
	shutdown atomic.Int32
}

func newFuncExporter(name string, hook func(ctx context.Context, method string) error) *funcExporter {
	return &funcExporter{name: name, rec: memory.New(), hook: hook}
}

func (e *funcExporter) Name() string { return e.name }
func (e *funcExporter) StartRun(ctx context.Context, r flowtrace.RunStart) (flowtrace.RunExporter, error) {
	if e.onStart != nil {
		if err := e.onStart(ctx, r); err != nil {
			return nil, err
		}
	}
	inner, err := e.rec.StartRun(ctx, r)
	if err != nil {
		return nil, err
	}
	return &funcRun{e: e, inner: inner}, nil
}
func (e *funcExporter) Shutdown(context.Context) error { e.shutdown.Add(1); return nil }

type funcRun struct {
	e     *funcExporter
	inner flowtrace.RunExporter
}

func (r *funcRun) call(ctx context.Context, m string) error {
	if r.e.hook == nil {
		return nil
	}
	return r.e.hook(ctx, m)
}
func (r *funcRun) StartComponent(ctx context.Context, c flowtrace.ComponentStart) error {
	if err := r.call(ctx, "StartComponent"); err != nil {
		return err
	}
	return r.inner.StartComponent(ctx, c)
}
func (r *funcRun) AddLog(ctx context.Context, l flowtrace.LogEntry) error {
	if err := r.call(ctx, "AddLog"); err != nil {
		return err
	}
	return r.inner.AddLog(ctx, l)
}
func (r *funcRun) SetOutputs(ctx context.Context, o flowtrace.Outputs) error {
	if err := r.call(ctx, "SetOutputs"); err != nil {
		return err
	}
	return r.inner.SetOutputs(ctx, o)
}
func (r *funcRun) EndComponent(ctx context.Context, c flowtrace.ComponentEnd) error {
	if err := r.call(ctx, "EndComponent"); err != nil {
		return err
	}
	return r.inner.EndComponent(ctx, c)
}
func (r *funcRun) EndRun(ctx context.Context, e flowtrace.RunEnd) error {
	if err := r.call(ctx, "EndRun"); err != nil {
		return err
	}
	return r.inner.EndRun(ctx, e)
}

// slowHook simulates a backend that takes d per call.
func slowHook(d time.Duration) func(context.Context, string) error {
	return func(context.Context, string) error { time.Sleep(d); return nil }
}

// TestFullQueueNeverDeadlocks emits 100 times the queue size into a 1 ms
// per call exporter, from one goroutine and from 64: the test finishes and
// every event is accounted for.
func TestFullQueueNeverDeadlocks(t *testing.T) {
	const queue = 10
	for _, producers := range []int{1, 64} {
		t.Run(fmt.Sprint(producers, " producers"), func(t *testing.T) {
			slow := newFuncExporter("slow", slowHook(time.Millisecond))
			svc, _, errs := newService(t, flowtrace.WithQueueSize(queue), flowtrace.WithExporter(slow))
			ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
			require.NoError(t, err)
			var wg sync.WaitGroup
			per := (100*queue + producers - 1) / producers // at least 100x the queue in all
			for p := range producers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range per {
						svc.AddLog(ctx, flowtrace.Log{Name: "x", Message: p*per + i})
					}
				}()
			}
			wg.Wait()
			sum, err := svc.EndTracers(within(t, ctx), nil, nil)
			require.NoError(t, err)
			requireBalanced(t, sum)
			d := sum.Exporters["slow"]
			assert.Equal(t, uint64(per*producers+2), d.Emitted)
			assert.NotZero(t, d.Dropped, "a 1 ms exporter cannot keep up with 1,000 events into a queue of 10")
			assert.Equal(t, 1, errs.count(flowtrace.ErrQueueFull), "the first drop of a run is reported, once")
			run, _ := slow.rec.Run(sum.RunID)
			assert.Equal(t, int(d.Delivered)-2, len(run.Logs), "what was delivered is what the exporter has")
			assert.True(t, run.Ended, "the run's end is never dropped")
		})
	}
}

func TestBlockForLosesNothingWithAFastExporter(t *testing.T) {
	svc, rec, _ := newService(t, flowtrace.WithQueueSize(8), flowtrace.WithOverflow(flowtrace.BlockFor(time.Second)))
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for p := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				svc.AddLog(ctx, flowtrace.Log{Name: "x", Message: p*1000 + i})
			}
		}()
	}
	wg.Wait()
	sum, err := svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	assert.Equal(t, flowtrace.Delivery{Emitted: 3202, Delivered: 3202}, sum.Exporters["memory"])
	run, _ := rec.Run(sum.RunID)
	assert.Len(t, run.Logs, 3200)
}

// TestExporterCallingBackDoesNotDeadlock has an exporter that logs through
// the same TraceService from inside AddLog, with the queue empty and full.
func TestExporterCallingBackDoesNotDeadlock(t *testing.T) {
	for _, tc := range []struct {
		name     string
		queue    int
		overflow flowtrace.Overflow
	}{
		{"roomy queue", 1024, flowtrace.DropNewest},
		{"full queue, drop", 2, flowtrace.DropNewest},
		{"full queue, block", 2, flowtrace.BlockFor(5 * time.Millisecond)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var svc *flowtrace.TraceService
			var side context.Context
			var calls atomic.Int64
			reentrant := newFuncExporter("reentrant", nil)
			reentrant.hook = func(ctx context.Context, method string) error {
				if method == "AddLog" && calls.Add(1) <= 200 {
					svc.AddLog(side, flowtrace.Log{Name: "from exporter"})
					if nested, err := svc.StartTracers(ctx, flowtrace.RunInfo{RunName: "nested-in-exporter"}); err == nil {
						svc.AddLog(nested, flowtrace.Log{Name: "nested"})
						_, _ = svc.EndTracers(nested, nil, nil)
					}
				}
				return nil
			}
			svc, _, _ = newService(t, flowtrace.WithQueueSize(tc.queue), flowtrace.WithOverflow(tc.overflow), flowtrace.WithExporter(reentrant))
			var err error
			side, err = svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "side"})
			require.NoError(t, err)
			ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "main"})
			require.NoError(t, err)
			for i := range 100 {
				svc.AddLog(ctx, flowtrace.Log{Name: "main", Message: i})
			}
			sum, err := svc.EndTracers(ctx, nil, nil)
			require.NoError(t, err)
			requireBalanced(t, sum)
			sideSum, err := svc.EndTracers(side, nil, nil)
			require.NoError(t, err)
			requireBalanced(t, sideSum)
			require.NoError(t, svc.Shutdown(deadline(t)))
			requireStatsBalanced(t, svc.Stats())
		})
	}
}

// TestSlowExporterDoesNotHoldBackOthers blocks one exporter completely and
// checks another receives the whole run meanwhile.
func TestSlowExporterDoesNotHoldBackOthers(t *testing.T) {
	release := make(chan struct{})
	blocked := newFuncExporter("blocked", func(ctx context.Context, _ string) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	})
	fastDone := make(chan string, 1)
	fast := newFuncExporter("fast", func(_ context.Context, m string) error {
		if m == "EndRun" {
			fastDone <- m
		}
		return nil
	})
	svc, _, _ := newService(t, flowtrace.WithExporter(blocked), flowtrace.WithExporter(fast))
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	for i := range 100 {
		cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: fmt.Sprint(i)})
		svc.AddLog(cctx, flowtrace.Log{Name: "l"})
		c.End(nil)
	}
	endDone := make(chan flowtrace.RunSummary, 1)
	go func() {
		sum, err := svc.EndTracers(ctx, nil, nil)
		assert.NoError(t, err)
		endDone <- sum
	}()
	select {
	case <-fastDone:
	case <-deadline(t).Done():
		t.Fatal("the fast exporter did not receive the run while the other was blocked")
	}
	run, ok := fast.rec.Run(runID(t, ctx))
	require.True(t, ok)
	assert.Len(t, run.Components, 100, "the fast exporter has every component while the slow one is blocked")
	close(release)
	sum := <-endDone
	requireBalanced(t, sum)
	assert.Equal(t, uint64(302), sum.Exporters["blocked"].Delivered)
}

// TestHangingExporterIsAbandoned has an exporter that ignores its ctx and
// blocks until the test ends. EndTracers and Shutdown must still return by
// their deadlines and name it; the other exporter receives everything.
func TestHangingExporterIsAbandoned(t *testing.T) {
	release := make(chan struct{})
	var hung atomic.Int32
	hanging := newFuncExporter("hanging", func(_ context.Context, m string) error {
		if m == "AddLog" && hung.Add(1) == 1 {
			<-release // ignores ctx
		}
		return nil
	})
	log := &errorLog{}
	rec := memory.New()
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(rec), flowtrace.WithExporter(hanging),
		flowtrace.WithExportTimeout(50*time.Millisecond), flowtrace.WithErrorHandler(log.handle))
	require.NoError(t, err)
	unblock := sync.OnceFunc(func() { close(release) })
	defer unblock() // let the abandoned call return before goleak looks

	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	for i := range 10 {
		svc.AddLog(ctx, flowtrace.Log{Name: "l", Message: i})
	}
	sum, err := svc.EndTracers(ctx, nil, nil)
	require.ErrorIs(t, err, flowtrace.ErrExportTimeout)
	assert.Contains(t, err.Error(), `"hanging"`, "the error names the stuck exporter")
	requireBalanced(t, sum)
	assert.Equal(t, uint64(12), sum.Exporters["memory"].Delivered, "the other exporter gets everything")
	assert.NotZero(t, sum.Exporters["hanging"].Failed)

	// While the call is stuck, later runs fail fast on that exporter.
	ctx2, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	svc.AddLog(ctx2, flowtrace.Log{Name: "l"})
	sum2, err := svc.EndTracers(ctx2, nil, nil)
	require.ErrorIs(t, err, flowtrace.ErrExportTimeout)
	assert.Equal(t, flowtrace.Delivery{Emitted: 3, Failed: 3}, sum2.Exporters["hanging"])
	assert.Equal(t, flowtrace.Delivery{Emitted: 3, Delivered: 3}, sum2.Exporters["memory"])

	// Shutdown is not done while the abandoned call still runs: it returns
	// by its deadline, naming the exporter.
	short, cancel := context.WithCancel(context.Background())
	cancel()
	err = svc.Shutdown(short)
	require.ErrorIs(t, err, flowtrace.ErrExportTimeout, "Shutdown reports the call still stuck")
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), `"hanging"`)

	// Once the call returns, Shutdown completes.
	unblock()
	require.NoError(t, svc.Shutdown(deadline(t)), "Shutdown waits for the abandoned call once it returns")
	assert.Equal(t, int32(1), hanging.shutdown.Load(), "the hanging exporter is shut down once")
	// Reports of background failures reach the handler by the time
	// Shutdown returns nil.
	assert.Equal(t, 1, log.count(flowtrace.ErrExportTimeout), "the abandonment is reported once")
}

// TestEndTracersHonoursItsDeadline blocks an exporter until after EndTracers'
// deadline has passed.
func TestEndTracersHonoursItsDeadline(t *testing.T) {
	release := make(chan struct{})
	blocked := newFuncExporter("blocked", func(ctx context.Context, m string) error {
		if m == "AddLog" {
			<-release
		}
		return nil
	})
	svc, _, _ := newService(t, flowtrace.WithExporter(blocked))
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	svc.AddLog(ctx, flowtrace.Log{Name: "l"})

	short, cancel := context.WithCancel(ctx)
	cancel() // already past its deadline: EndTracers must not wait
	sum, err := svc.EndTracers(short, nil, nil)
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), `"blocked"`)
	assert.Less(t, sum.Exporters["blocked"].Delivered+sum.Exporters["blocked"].Failed, sum.Exporters["blocked"].Emitted, "the summary says what is still pending")
	close(release)
}

func TestPanickingExporterIsContained(t *testing.T) {
	panicky := newFuncExporter("panicky", func(_ context.Context, m string) error {
		if m == "AddLog" {
			panic("backend bug")
		}
		return nil
	})
	refusing := newFuncExporter("refusing", nil)
	refusing.onStart = func(_ context.Context, r flowtrace.RunStart) error {
		if r.RunName == "refused" {
			return errors.New("no quota")
		}
		return nil
	}
	startPanics := newFuncExporter("start-panics", nil)
	startPanics.onStart = func(context.Context, flowtrace.RunStart) error { panic("in StartRun") }

	svc, rec, errs := newService(t, flowtrace.WithExporter(panicky), flowtrace.WithExporter(refusing), flowtrace.WithExporter(startPanics))
	for _, name := range []string{"refused", "accepted"} {
		ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: name})
		require.NoError(t, err)
		for i := range 5 {
			svc.AddLog(ctx, flowtrace.Log{Name: "l", Message: i})
		}
		sum, err := svc.EndTracers(ctx, nil, nil)
		require.NoError(t, err)
		requireBalanced(t, sum)
		assert.Equal(t, flowtrace.Delivery{Emitted: 7, Delivered: 7}, sum.Exporters["memory"], "other exporters carry on")
		assert.Equal(t, flowtrace.Delivery{Emitted: 7, Delivered: 2, Failed: 5}, sum.Exporters["panicky"])
		assert.Equal(t, flowtrace.Delivery{Emitted: 7, Failed: 7}, sum.Exporters["start-panics"])
		if name == "refused" {
			assert.Equal(t, flowtrace.Delivery{Emitted: 7, Failed: 7}, sum.Exporters["refusing"], "StartRun's error disables the exporter for that run")
		} else {
			assert.Equal(t, flowtrace.Delivery{Emitted: 7, Delivered: 7}, sum.Exporters["refusing"], "…and for that run only")
		}
		run, _ := rec.Run(sum.RunID)
		assert.Len(t, run.Logs, 5)
	}
	panics := 0
	for _, e := range errs.all() {
		if errors.Is(e, flowtrace.ErrExporterPanic) {
			panics++
			assert.True(t, strings.Contains(e.Error(), `"panicky"`) || strings.Contains(e.Error(), `"start-panics"`), "a panic report names the exporter: %v", e)
		}
	}
	assert.Equal(t, 4, panics, "one report per exporter per run")
}

// TestPanicAfterAnErrorIsReported checks that an exporter's earlier
// ordinary error does not hide its later panic from the error handler.
func TestPanicAfterAnErrorIsReported(t *testing.T) {
	flaky := newFuncExporter("flaky", func(_ context.Context, m string) error {
		switch m {
		case "AddLog":
			return errors.New("transient")
		case "SetOutputs":
			panic("backend bug")
		}
		return nil
	})
	svc, _, errs := newService(t, flowtrace.WithExporter(flaky))
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	svc.AddLog(ctx, flowtrace.Log{Name: "l"})
	svc.AddLog(ctx, flowtrace.Log{Name: "l"})
	svc.SetOutputs(ctx, map[string]any{"a": 1})
	svc.SetOutputs(ctx, map[string]any{"a": 2})
	sum, err := svc.EndTracers(ctx, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, flowtrace.Delivery{Emitted: 6, Delivered: 2, Failed: 4}, sum.Exporters["flaky"])
	reported := errs.all()
	require.Len(t, reported, 2, "the first error and the first panic of the run, once each: %v", reported)
	assert.NotErrorIs(t, reported[0], flowtrace.ErrExporterPanic)
	assert.ErrorIs(t, reported[1], flowtrace.ErrExporterPanic)
}

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

// named gives an exporter another name.
type named struct {
	*memory.Exporter
	name string
}

func (n named) Name() string { return n.name }

// signalExporter is a memory exporter whose Shutdown closes a channel, so a
// test can wait for it.
type signalExporter struct {
	*memory.Exporter
	name string
	shut chan struct{}
}

func (e *signalExporter) Name() string { return e.name }
func (e *signalExporter) Shutdown(ctx context.Context) error {
	defer close(e.shut)
	return e.Exporter.Shutdown(ctx)
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

// TestBlockForGivesUp fills a queue of one in front of a blocked exporter:
// with BlockFor the callers wait, then drop and go on.
func TestBlockForGivesUp(t *testing.T) {
	release := make(chan struct{})
	blocked := newFuncExporter("blocked", func(_ context.Context, m string) error {
		if m == "AddLog" {
			<-release
		}
		return nil
	})
	svc, _, errs := newService(t, flowtrace.WithExporter(blocked), flowtrace.WithQueueSize(1),
		flowtrace.WithOverflow(flowtrace.BlockFor(5*time.Millisecond)))
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	for i := range 5 {
		svc.AddLog(ctx, flowtrace.Log{Name: "l", Message: i}) // returns: a hang fails the test by its timeout
	}
	close(release)
	sum, err := svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	requireBalanced(t, sum)
	d := sum.Exporters["blocked"]
	assert.Equal(t, uint64(7), d.Emitted)
	assert.NotZero(t, d.Dropped, "with the exporter blocked, a queue of one cannot take five logs")
	assert.Equal(t, 1, errs.count(flowtrace.ErrQueueFull), "the first drop of the run is reported, once")
	assert.Equal(t, flowtrace.Delivery{Emitted: 7, Delivered: 7}, sum.Exporters["memory"], "the other exporter's queue is its own")
}

// blockingStringer's String blocks until released: the caller's own code,
// run while a value is snapshotted.
type blockingStringer struct{ entered, release chan struct{} }

func (s blockingStringer) String() string {
	close(s.entered)
	<-s.release
	return "slow"
}

// TestSlowSnapshotDoesNotHoldTheEnd has a log's String method block while
// the run ends: the snapshot is the caller's time, taken before the write
// enters its scope, so EndTracers does not wait for it, and the write,
// arriving after the end, is counted as late.
func TestSlowSnapshotDoesNotHoldTheEnd(t *testing.T) {
	svc, rec, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	cctx, comp := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c"})
	s := blockingStringer{entered: make(chan struct{}), release: make(chan struct{})}
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		svc.AddLog(cctx, flowtrace.Log{Name: "slow", Message: s})
	}()
	<-s.entered

	ended := make(chan struct{})
	go func() {
		defer close(ended)
		comp.End(nil)
		_, err := svc.EndTracers(ctx, nil, nil)
		assert.NoError(t, err)
	}()
	select {
	case <-ended:
	case <-deadline(t).Done():
		t.Fatal("End and EndTracers waited for the caller's String method")
	}
	close(s.release)
	select {
	case <-logged:
	case <-deadline(t).Done():
		t.Fatal("AddLog did not return")
	}
	assert.Equal(t, uint64(1), svc.Stats().Late, "the log arrived after its component ended")
	run, _ := rec.Run(runID(t, ctx))
	assert.Empty(t, run.Components[0].Logs)
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

// TestShutdownHonoursItsDeadlineWithBlockFor ends runs whose components are
// still open while the exporter is stuck and its queue full, with BlockFor
// an hour: each component's end would wait an hour for room, one after
// another. Shutdown must return by its own deadline instead.
func TestShutdownHonoursItsDeadlineWithBlockFor(t *testing.T) {
	release := make(chan struct{})
	unblock := sync.OnceFunc(func() { close(release) })
	defer unblock()
	inCall := make(chan struct{})
	var once sync.Once
	stuck := newFuncExporter("stuck", func(_ context.Context, m string) error {
		if m == "StartComponent" {
			once.Do(func() { close(inCall); <-release })
		}
		return nil
	})
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(stuck), flowtrace.WithQueueSize(2),
		flowtrace.WithOverflow(flowtrace.BlockFor(time.Hour)), flowtrace.WithExportTimeout(time.Hour),
		flowtrace.WithErrorHandler(func(error) {}))
	require.NoError(t, err)
	for i := range 3 { // one start in the stuck call, two filling the queue
		ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
		require.NoError(t, err)
		svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "open"}) // never ended
		if i == 0 {
			<-inCall // the worker is stuck from here on
		}
	}

	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- svc.Shutdown(short) }()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), `"stuck"`)
	case <-deadline(t).Done():
		t.Fatal("Shutdown waited out BlockFor instead of returning by its deadline")
	}
	unblock()
	require.NoError(t, svc.Shutdown(deadline(t)), "once the exporter returns, Shutdown completes")
	requireStatsBalanced(t, svc.Stats())
}

// TestErrorHandlerMayEndTheRun has the error handler, told of a drop,
// shut the service down, which ends the run the dropping write was made
// in. The handler runs after the write has left its scope, so this does
// not wait for itself.
func TestErrorHandlerMayEndTheRun(t *testing.T) {
	release := make(chan struct{})
	unblock := sync.OnceFunc(func() { close(release) })
	defer unblock()
	inCall := make(chan struct{})
	var once sync.Once
	stuck := newFuncExporter("stuck", func(_ context.Context, m string) error {
		if m == "AddLog" {
			once.Do(func() { close(inCall); <-release })
		}
		return nil
	})
	var svc *flowtrace.TraceService
	handled := make(chan error, 1)
	handler := func(err error) {
		if errors.Is(err, flowtrace.ErrQueueFull) {
			short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			handled <- svc.Shutdown(short)
		}
	}
	var err error
	svc, err = flowtrace.NewTraceService(flowtrace.WithExporter(stuck), flowtrace.WithQueueSize(2), flowtrace.WithErrorHandler(handler))
	require.NoError(t, err)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "open"}) // Shutdown ends it
	svc.AddLog(ctx, flowtrace.Log{Name: "1"})
	<-inCall
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		for i := range 3 { // the queue of two overflows on the third
			svc.AddLog(ctx, flowtrace.Log{Name: fmt.Sprint(i)})
		}
	}()
	select {
	case <-logged:
	case <-deadline(t).Done():
		t.Fatal("a handler ending the run deadlocked the write that reported the drop")
	}
	require.ErrorIs(t, <-handled, context.DeadlineExceeded, "the exporter is still stuck")
	unblock()
	require.NoError(t, svc.Shutdown(deadline(t)))
	requireStatsBalanced(t, svc.Stats())
}

// TestExporterEndingItsOwnComponentDoesNotWait has an exporter trace its
// own work through the ctx it was handed, with its own queue full and
// BlockFor an hour: ending its component must not wait for room only its
// own return can make.
func TestExporterEndingItsOwnComponentDoesNotWait(t *testing.T) {
	var svc *flowtrace.TraceService
	var once sync.Once
	ended := make(chan struct{})
	tracing := newFuncExporter("tracing", nil)
	tracing.hook = func(ctx context.Context, m string) error {
		if m != "AddLog" {
			return nil
		}
		once.Do(func() {
			defer close(ended)
			inner, err := svc.StartTracers(ctx, flowtrace.RunInfo{RunName: "exporter's own"})
			if err != nil {
				return
			}
			cctx, c := svc.TraceComponent(inner, flowtrace.ComponentInfo{Name: "http"})
			for range 4 { // fills its own queue of two
				svc.AddLog(cctx, flowtrace.Log{Name: "req"})
			}
			c.End(nil) // the queue is full: the end is dropped, not waited for
			_, _ = svc.EndTracers(inner, nil, nil)
		})
		return nil
	}
	var err error
	svc, err = flowtrace.NewTraceService(flowtrace.WithExporter(tracing), flowtrace.WithQueueSize(2),
		flowtrace.WithOverflow(flowtrace.BlockFor(time.Hour)), flowtrace.WithErrorHandler(func(error) {}))
	require.NoError(t, err)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	svc.AddLog(ctx, flowtrace.Log{Name: "go"})
	select {
	case <-ended:
	case <-deadline(t).Done():
		t.Fatal("the exporter's End waited for room in its own queue")
	}
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	require.NoError(t, svc.Shutdown(deadline(t)))
	requireStatsBalanced(t, svc.Stats())
}

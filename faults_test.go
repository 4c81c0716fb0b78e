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

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
// blocks until the test ends. Once the call is abandoned, EndTracers and
// Shutdown must still return by their deadlines and name it; the other
// exporter receives everything.
//
// The watchdog is made to abandon the hanging call (AbandonCall) once it
// hangs, under an export timeout of an hour. With a timeout of 50 ms, any
// call of the other exporter, or a StartRun of this one, that a loaded
// machine preempted past it was abandoned too, and the test failed. That
// the watchdog abandons a call by its deadline is pipeline's to test.
func TestHangingExporterIsAbandoned(t *testing.T) {
	release := make(chan struct{})
	hangs := make(chan struct{})
	var hung atomic.Int32
	hanging := newFuncExporter("hanging", func(_ context.Context, m string) error {
		if m == "AddLog" && hung.Add(1) == 1 {
			close(hangs)
			<-release // ignores ctx
		}
		return nil
	})
	log := &errorLog{}
	rec := memory.New()
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(rec), flowtrace.WithExporter(hanging),
		flowtrace.WithExportTimeout(time.Hour), flowtrace.WithErrorHandler(log.handle))
	require.NoError(t, err)
	unblock := sync.OnceFunc(func() { close(release) })
	defer unblock() // let the abandoned call return before goleak looks

	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	for i := range 10 {
		svc.AddLog(ctx, flowtrace.Log{Name: "l", Message: i})
	}
	select {
	case <-hangs:
	case <-deadline(t).Done():
		t.Fatal("the hanging exporter never received its first log")
	}
	require.True(t, flowtrace.AbandonCall(svc, "hanging"))
	sum, err := svc.EndTracers(ctx, nil, nil)
	require.ErrorIs(t, err, flowtrace.ErrExportTimeout)
	assert.Contains(t, err.Error(), `"hanging"`, "the error names the stuck exporter")
	requireBalanced(t, sum)
	assert.Equal(t, uint64(12), sum.Exporters["memory"].Delivered, "the other exporter gets everything; reports: %v", log.all())
	assert.NotZero(t, sum.Exporters["hanging"].Failed)

	// While the call is stuck, later runs fail fast on that exporter.
	ctx2, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	svc.AddLog(ctx2, flowtrace.Log{Name: "l"})
	sum2, err := svc.EndTracers(ctx2, nil, nil)
	require.ErrorIs(t, err, flowtrace.ErrExportTimeout)
	assert.Equal(t, flowtrace.Delivery{Emitted: 3, Failed: 3}, sum2.Exporters["hanging"], "reports: %v", log.all())
	assert.Equal(t, flowtrace.Delivery{Emitted: 3, Delivered: 3}, sum2.Exporters["memory"], "reports: %v", log.all())

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
	assert.Equal(t, 1, log.count(flowtrace.ErrExportTimeout), "the abandonment is reported once; reports: %v", log.all())
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

// TestComponentStartedWhileStuckGetsNothingElse starts a component while
// an abandoned call is stuck in the exporter, so that the component's start
// fails there without reaching it; once the call returns, the component's
// log and end must fail too, rather than reach an exporter that never saw
// the component start.
func TestComponentStartedWhileStuckGetsNothingElse(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	var ends atomic.Int32
	hangs := make(chan struct{})
	stuck := newFuncExporter("stuck", func(_ context.Context, m string) error {
		switch m {
		case "AddLog":
			once.Do(func() { close(hangs); <-release }) // ignores ctx
		case "EndComponent":
			ends.Add(1)
		}
		return nil
	})
	abandoned := make(chan struct{})
	var abandonedOnce sync.Once
	log := &errorLog{}
	handler := func(err error) {
		log.handle(err)
		if errors.Is(err, flowtrace.ErrExportTimeout) {
			abandonedOnce.Do(func() { close(abandoned) })
		}
	}
	// The call is abandoned by the test, not by a deadline that an ordinary
	// call, preempted on a loaded machine, could pass too.
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(stuck), flowtrace.WithErrorHandler(handler),
		flowtrace.WithExportTimeout(time.Hour))
	require.NoError(t, err)
	defer func() { require.NoError(t, svc.Shutdown(deadline(t))) }()
	failed := func() uint64 { return svc.Stats().Exporters["stuck"].Failed }
	delivered := func() uint64 { return svc.Stats().Exporters["stuck"].Delivered }

	// ctx's run opens on the exporter before the call that hangs, in
	// another run, and is not broken by it.
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	hanging, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	svc.AddLog(hanging, flowtrace.Log{Name: "hangs"})
	<-hangs
	require.True(t, flowtrace.AbandonCall(svc, "stuck"))
	<-abandoned
	cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "during"})
	waitFor(t, "the component's start has failed", func() bool { return failed() >= 2 }) // and the hanging log

	close(release)
	// Probe with run-level logs until one is delivered: the call has
	// returned and the exporter is called again.
	before := delivered()
	waitFor(t, "the exporter is called again", func() bool {
		svc.AddLog(ctx, flowtrace.Log{Name: "probe"})
		return delivered() > before
	})
	svc.AddLog(cctx, flowtrace.Log{Name: "of a component the exporter never saw"})
	c.End(nil)
	sum, err := svc.EndTracers(within(t, ctx), nil, nil)
	require.ErrorIs(t, err, flowtrace.ErrExportTimeout)
	requireBalanced(t, sum)
	_, err = svc.EndTracers(within(t, hanging), nil, nil)
	require.ErrorIs(t, err, flowtrace.ErrExportTimeout)
	assert.Zero(t, ends.Load(), "the exporter got the end of a component it never saw start")
	assert.Zero(t, log.count(memory.ErrUnknownComponent), "the exporter got records of a component it never saw start")
}

// TestShutdownAfterAStallHasEndedReportsNothing abandons a call of a run,
// lets the call return, and shuts the service down with that run still
// open. The first Shutdown returned ErrExportTimeout, from the run's old
// loss, and the second nil: the same state, two answers. ErrExportTimeout
// from Shutdown means a call still running; none is.
func TestShutdownAfterAStallHasEndedReportsNothing(t *testing.T) {
	release := make(chan struct{})
	var hung atomic.Int32
	hangs := make(chan struct{})
	stuck := newFuncExporter("stuck", func(_ context.Context, m string) error {
		if m == "AddLog" && hung.Add(1) == 1 {
			close(hangs)
			<-release // ignores ctx
		}
		return nil
	})
	probed := make(chan struct{})
	stuck.onStart = func(_ context.Context, r flowtrace.RunStart) error {
		if r.RunName == "probe" {
			close(probed)
		}
		return nil
	}
	abandoned := make(chan struct{})
	var once sync.Once
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(stuck), flowtrace.WithExportTimeout(time.Hour),
		flowtrace.WithErrorHandler(func(err error) {
			if errors.Is(err, flowtrace.ErrExportTimeout) {
				once.Do(func() { close(abandoned) })
			}
		}))
	require.NoError(t, err)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "open"})
	require.NoError(t, err)
	svc.AddLog(ctx, flowtrace.Log{Name: "hangs"})
	<-hangs
	require.True(t, flowtrace.AbandonCall(svc, "stuck"), "the test abandons the call, not a deadline")
	<-abandoned
	close(release)
	// The exporter is called again once the call has returned: the stall
	// is over when the probe's StartRun arrives.
	_, err = svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "probe"})
	require.NoError(t, err)
	select {
	case <-probed:
	case <-deadline(t).Done():
		t.Fatal("the exporter was never called again")
	}
	require.NoError(t, svc.Shutdown(deadline(t)), "no call is still running")
	require.NoError(t, svc.Shutdown(deadline(t)), "and still none")
	run, ok := stuck.rec.Run(runID(t, ctx))
	require.True(t, ok)
	require.True(t, run.Ended, "the open run was closed on the exporter")
}

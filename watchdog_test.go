package flowtrace_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

// waitFor polls cond until it holds, yielding in between, and fails the
// test at the test deadline. For states the API gives no channel for.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx := deadline(t)
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting until %s", what)
		default:
			runtime.Gosched()
		}
	}
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
	stuck := newFuncExporter("stuck", func(_ context.Context, m string) error {
		switch m {
		case "AddLog":
			once.Do(func() { <-release }) // ignores ctx
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
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(stuck), flowtrace.WithErrorHandler(handler),
		flowtrace.WithExportTimeout(20*time.Millisecond))
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

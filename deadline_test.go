package flowtrace_test

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
)

// TestEndersHonourTheirDeadlineWhileEndRunsCallerCode has one goroutine end
// a component with an error whose Error method blocks, and another end the
// run (or shut the service down) with a short deadline. End records its
// error before holding anything, so the closer returns by its deadline
// instead of waiting for the caller's code.
func TestEndersHonourTheirDeadlineWhileEndRunsCallerCode(t *testing.T) {
	for _, closer := range []string{"EndTracers", "Shutdown"} {
		t.Run(closer, func(t *testing.T) {
			svc, _, _ := newService(t)
			ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
			require.NoError(t, err)
			_, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "slow end"})
			slow := newBlockingError()
			defer close(slow.release)
			go c.End(slow)
			<-slow.entered

			short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancel()
			done := make(chan struct{})
			go func() {
				defer close(done)
				if closer == "EndTracers" {
					_, _ = svc.EndTracers(short, nil, nil)
					return
				}
				_ = svc.Shutdown(short)
			}()
			select {
			case <-done:
			case <-deadline(t).Done():
				t.Fatalf("%s waited for a component's End running the caller's Error method", closer)
			}
		})
	}
}

// TestBlockForBoundsTheWholeCall fills the queues of eight stuck exporters:
// one AddLog then waits BlockFor once in all, not once per exporter.
func TestBlockForBoundsTheWholeCall(t *testing.T) {
	const block = 150 * time.Millisecond
	release := make(chan struct{})
	defer close(release)
	opts := []flowtrace.Option{flowtrace.WithQueueSize(2), flowtrace.WithOverflow(flowtrace.BlockFor(block))}
	for i := range 8 {
		stuck := newFuncExporter(fmt.Sprint("stuck", i), func(_ context.Context, m string) error {
			if m == "AddLog" {
				<-release
			}
			return nil
		})
		opts = append(opts, flowtrace.WithExporter(stuck))
	}
	svc, _, _ := newService(t, opts...)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	for i := range 3 { // one in each exporter's call, two in each queue
		svc.AddLog(ctx, flowtrace.Log{Name: fmt.Sprint(i)})
	}
	start := time.Now()
	svc.AddLog(ctx, flowtrace.Log{Name: "waits"})
	took := time.Since(start)
	// A bound of 4×BlockFor leaves room for a loaded machine; waiting per
	// exporter takes 8×.
	require.Less(t, took, 4*block, "one AddLog waited %v with BlockFor(%v) and 8 full exporters", took, block)
}

// TestHostileDeliveryOptions gives the delivery options values at the edge
// of their types: too large a queue is refused before anything is
// allocated, and the largest export timeout means "never time out".
func TestHostileDeliveryOptions(t *testing.T) {
	for _, n := range []int{flowtrace.MaxQueueSize + 1, 1 << 30, math.MaxInt} {
		svc, err := flowtrace.NewTraceService(flowtrace.WithQueueSize(n))
		require.ErrorIs(t, err, flowtrace.ErrInvalidOption, "queue size %d is above MaxQueueSize", n)
		require.Nil(t, svc)
	}
	// An exporter deriving a ctx from the one it is handed (an HTTP client,
	// say) must find its deadline ahead, not in the past.
	var pastDeadline atomic.Int32
	checking := newFuncExporter("checking", func(ctx context.Context, _ string) error {
		d, ok := ctx.Deadline()
		sub, cancel := context.WithCancel(ctx)
		defer cancel()
		if !ok || !d.After(time.Now()) || sub.Err() != nil {
			pastDeadline.Add(1)
		}
		return nil
	})
	svc, rec, log := newService(t, flowtrace.WithExportTimeout(math.MaxInt64), flowtrace.WithExporter(checking))
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	for i := range 100 {
		svc.AddLog(ctx, flowtrace.Log{Name: fmt.Sprint(i)})
	}
	sum, err := svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err, "no call ran past an export timeout of 292 years")
	require.Equal(t, flowtrace.Delivery{Emitted: 102, Delivered: 102}, sum.Exporters["memory"])
	require.Zero(t, pastDeadline.Load(), "exporter calls were handed a deadline in the past")
	require.NoError(t, svc.Shutdown(deadline(t)), "the first Shutdown has nothing to report")
	require.Empty(t, log.all())
	run, _ := rec.Run(sum.RunID)
	require.Len(t, run.Logs, 100)
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

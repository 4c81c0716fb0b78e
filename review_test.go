package flowtrace_test

// Tests from an adversarial review of the newest promises (issues 16, 17).

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

// TestTagIsMaskedBeforeItIsCut: a run's tags are labels, and a label is
// masked first, then cut, "so that nothing a cut would split escapes it".
// Tags were cut to MaxTagLen first: a URL whose user info straddled the
// cut lost its "@", was no longer seen as a URL with user info, and the
// start of its password was recorded in clear.
func TestTagIsMaskedBeforeItIsCut(t *testing.T) {
	svc, rec, _ := newService(t)
	const pass = "hunter2hunter2hunter2"
	tag := strings.Repeat("x", 230) + " https://bob:" + pass + "@example.com/"
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{Tags: []string{tag, "ok"}})
	require.NoError(t, err)
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	run, ok := rec.Run(runID(t, ctx))
	require.True(t, ok)
	require.Len(t, run.Info.Tags, 2)
	assert.NotContains(t, run.Info.Tags[0], "bob:h", "no part of the URL's password is recorded in a tag")
	assert.LessOrEqual(t, len(run.Info.Tags[0]), flowtrace.MaxTagLen, "a tag is still cut to MaxTagLen")
	assert.Equal(t, "ok", run.Info.Tags[1])
}

// TestCheckpointFromARefusedStartContinuesAnExistingSpan: the ctx of a
// refused TraceComponent (its parent had ended) carries a marker whose
// span is never delivered; as an OpenTelemetry span it is the run's.
// CheckpointFromContext gave the marker's own span ID, so a continuation
// started from it hung under a span no exporter ever saw.
func TestCheckpointFromARefusedStartContinuesAnExistingSpan(t *testing.T) {
	svc, _, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	pctx, parent := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "parent"})
	parent.End(nil)
	mctx, c := svc.TraceComponent(pctx, flowtrace.ComponentInfo{Name: "refused"})
	require.Nil(t, c, "a start under an ended parent is refused")

	cp, ok := flowtrace.CheckpointFromContext(mctx)
	require.True(t, ok)
	rc, _ := flowtrace.RunFromContext(ctx)
	span := rc.SpanID()
	assert.Equal(t, hex.EncodeToString(span[:]), cp.SpanID, "the checkpoint of a refused start continues under the run's span, as its OpenTelemetry span does")
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
}

// TestSuspendRacesEndShutdownAndHolds suspends a run while its components
// end, holds are released, writes arrive, EndTracers is called and the
// service shuts down, all at once. Whoever closes the run, exporters see
// one closed tree: every component ended, the run ended once, suspended
// exactly when SuspendTracers closed it; and nothing waits past its ctx.
func TestSuspendRacesEndShutdownAndHolds(t *testing.T) {
	for i := range 40 {
		svc, rec, _ := newServiceNoCleanup(t)
		ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunID: "r"})
		require.NoError(t, err)
		const n = 8
		var wg sync.WaitGroup
		start := make(chan struct{})
		for j := range n {
			cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{ID: fmt.Sprint(j)})
			release := flowtrace.Hold(cctx)
			wg.Go(func() {
				<-start
				flowtrace.AddLog(cctx, flowtrace.Log{Name: "l", Message: j})
				if j%2 == 0 {
					c.End(nil)
				}
				release()
				flowtrace.SetOutputs(cctx, map[string]any{"j": j})
			})
		}
		var suspendErr, endErr error
		wg.Go(func() {
			<-start
			_, _, suspendErr = svc.SuspendTracers(within(t, ctx), map[string]any{"at": "approval"})
		})
		wg.Go(func() {
			<-start
			_, endErr = svc.EndTracers(within(t, ctx), nil, errors.New("failed"))
		})
		var shutErr error
		if i%2 == 1 {
			wg.Go(func() {
				<-start
				shutErr = svc.Shutdown(deadline(t))
			})
		}
		close(start)
		wg.Wait()
		require.NoError(t, svc.Shutdown(deadline(t)))
		require.NoError(t, shutErr, "round %d", i)

		run, ok := rec.Run("r")
		require.True(t, ok)
		require.True(t, run.Ended, "round %d: the run ended", i)
		require.Len(t, run.Components, n)
		for _, c := range run.Components {
			require.True(t, c.Ended, "round %d: component %s ended", i, c.Info.ComponentID)
		}
		switch {
		case suspendErr == nil:
			require.ErrorIs(t, endErr, flowtrace.ErrRunEnded, "round %d", i)
			require.True(t, run.Suspended, "round %d: SuspendTracers closed the run", i)
			require.NoError(t, run.Err)
		case endErr == nil:
			require.ErrorIs(t, suspendErr, flowtrace.ErrRunEnded, "round %d", i)
			require.False(t, run.Suspended, "round %d", i)
			require.Error(t, run.Err)
		default:
			// Shutdown closed the run: while they waited (ErrShutdown), or
			// before they looked (ErrRunEnded, as after Shutdown returned).
			for _, err := range []error{suspendErr, endErr} {
				if !errors.Is(err, flowtrace.ErrShutdown) {
					require.ErrorIs(t, err, flowtrace.ErrRunEnded, "round %d", i)
				}
			}
			require.False(t, run.Suspended)
			require.ErrorIs(t, run.Err, flowtrace.ErrShutdown)
		}
		requireStatsBalanced(t, svc.Stats())
	}
}

// newServiceNoCleanup is newService for a test that shuts the service down
// itself.
func newServiceNoCleanup(t testing.TB, opts ...flowtrace.Option) (*flowtrace.TraceService, *memory.Exporter, *errorLog) {
	t.Helper()
	rec := memory.New()
	log := &errorLog{}
	all := append([]flowtrace.Option{flowtrace.WithExporter(rec), flowtrace.WithErrorHandler(log.handle)}, opts...)
	svc, err := flowtrace.NewTraceService(all...)
	require.NoError(t, err)
	return svc, rec, log
}

// TestRunUnderALocalOTelSpanKeepsTheRemoteCallersIdentity: behind
// otelhttp's handler, tracing.Middleware puts the caller's run (its run
// ID, session and user, from baggage) in ctx with ContextWithRemoteParent,
// under otelhttp's local server span of the same trace. The local span is
// the nearer parent; but the run lost the caller's run ID, session and
// user with it, though they name the same trace's caller.
func TestRunUnderALocalOTelSpanKeepsTheRemoteCallersIdentity(t *testing.T) {
	svc, rec, _ := newService(t)
	traceID := trace.TraceID{1, 2, 3}
	rp := flowtrace.RemoteParent{TraceID: traceID, SpanID: [8]byte{9}, Sampled: true, RunID: "caller-run", SessionID: "s-1", UserID: "u-1"}
	ctx := flowtrace.ContextWithRemoteParent(context.Background(), rp)
	local := trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: trace.SpanID{7}, TraceFlags: trace.FlagsSampled})
	ctx = trace.ContextWithSpanContext(ctx, local) // otelhttp's server span, child of the remote one

	rctx, err := svc.StartTracers(ctx, flowtrace.RunInfo{RunID: "callee"})
	require.NoError(t, err)
	_, err = svc.EndTracers(within(t, rctx), nil, nil)
	require.NoError(t, err)
	run, ok := rec.Run("callee")
	require.True(t, ok)
	assert.Equal(t, [16]byte(traceID), run.Info.TraceID)
	assert.Equal(t, [8]byte{7}, run.Info.ParentSpanID, "the local OpenTelemetry span is the nearer parent")
	assert.False(t, run.Info.ParentRemote)
	assert.Equal(t, "caller-run", run.Info.ParentRunID, "the remote caller's run is still the parent run")
	assert.Equal(t, "s-1", run.Info.SessionID)
	assert.Equal(t, "u-1", run.Info.UserID)

	// A remote parent of another trace names another caller: nothing of it.
	other := flowtrace.ContextWithRemoteParent(context.Background(), flowtrace.RemoteParent{TraceID: [16]byte{5}, SpanID: [8]byte{5}, Sampled: true, RunID: "other", SessionID: "s-2"})
	rctx, err = svc.StartTracers(trace.ContextWithSpanContext(other, local), flowtrace.RunInfo{RunID: "callee-2"})
	require.NoError(t, err)
	_, err = svc.EndTracers(within(t, rctx), nil, nil)
	require.NoError(t, err)
	run, _ = rec.Run("callee-2")
	assert.Empty(t, run.Info.ParentRunID)
	assert.Empty(t, run.Info.SessionID)
}

// TestEndTracersFromTheErrorHandlerDoesNotWaitForItsCallersHold: the
// README promises that "an error handler ending a run or shutting the
// service down" never waits for itself. Shutdown from the handler waits
// for no hold; EndTracers (and SuspendTracers) did: a handler that ends
// the run on any error, called on the goroutine holding the run, waited
// for that goroutine's own hold, for ever under a ctx without deadline.
func TestEndTracersFromTheErrorHandlerDoesNotWaitForItsCallersHold(t *testing.T) {
	for _, suspend := range []bool{false, true} {
		t.Run(fmt.Sprint("suspend=", suspend), func(t *testing.T) {
			var (
				svc    *flowtrace.TraceService
				runCtx context.Context
				endErr = make(chan error, 1)
			)
			rec := memory.New()
			svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(rec), flowtrace.WithErrorHandler(func(err error) {
				if !errors.Is(err, flowtrace.ErrDuplicateComponent) {
					return
				}
				if suspend {
					_, _, err = svc.SuspendTracers(runCtx, nil) // no deadline
				} else {
					_, err = svc.EndTracers(runCtx, nil, errors.New("duplicate")) // no deadline
				}
				endErr <- err
			}))
			require.NoError(t, err)
			defer func() { require.NoError(t, svc.Shutdown(deadline(t))) }()
			runCtx, err = svc.StartTracers(context.Background(), flowtrace.RunInfo{RunID: "r"})
			require.NoError(t, err)

			done := make(chan struct{})
			go func() {
				defer close(done)
				release := svc.Hold(runCtx)
				defer release()
				_, a := svc.TraceComponent(runCtx, flowtrace.ComponentInfo{ID: "x"})
				_, b := svc.TraceComponent(runCtx, flowtrace.ComponentInfo{ID: "x"}) // reported: the handler ends the run
				a.End(nil)
				b.End(nil)
			}()
			select {
			case <-done:
			case <-deadline(t).Done():
				t.Fatal("the error handler's EndTracers waits for the hold of the goroutine it runs on")
			}
			err = <-endErr
			assert.ErrorIs(t, err, flowtrace.ErrHoldsOpen, "it names the hold it did not wait for")
			run, ok := rec.Run("r")
			require.True(t, ok)
			assert.True(t, run.Ended)
			assert.Equal(t, suspend, run.Suspended)
		})
	}
}

// TestDuplicateComponentReportMasksTheName: every other report naming a
// component gives its recorded name, masked and scrubbed; the report of a
// duplicate ID gave the caller's raw name, and with it a URL's password,
// to the error handler (slog's default logger when none is set).
func TestDuplicateComponentReportMasksTheName(t *testing.T) {
	svc, _, log := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	name := "fetch https://bob:hunter2hunter2@example.com/"
	_, a := svc.TraceComponent(ctx, flowtrace.ComponentInfo{ID: "x", Name: name})
	_, b := svc.TraceComponent(ctx, flowtrace.ComponentInfo{ID: "x", Name: name})
	a.End(nil)
	b.End(nil)
	require.Equal(t, 1, log.count(flowtrace.ErrDuplicateComponent))
	for _, e := range log.all() {
		assert.NotContains(t, e.Error(), "hunter2", "no report gives a URL's password")
	}
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
}

// TestReusedIDOfAHeldComponentRacingSuspend ends a held component (its End
// pending), reuses its ID at once, and suspends the run while the hold is
// released: the old component ends with its caller's End, never
// suspended; the new one, still open, ends suspended; exporters tell them
// apart.
func TestReusedIDOfAHeldComponentRacingSuspend(t *testing.T) {
	for i := range 100 {
		svc, rec, log := newServiceNoCleanup(t)
		ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunID: "r"})
		require.NoError(t, err)
		octx, old := svc.TraceComponent(ctx, flowtrace.ComponentInfo{ID: "x", Name: "old"})
		release := svc.Hold(octx)
		old.End(errors.New("old failed")) // pending on the hold
		_, fresh := svc.TraceComponent(ctx, flowtrace.ComponentInfo{ID: "x", Name: "new"})
		_, found := svc.ComponentByID(ctx, "x")
		require.Same(t, fresh, found, "round %d: the ID finds the new component", i)

		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			svc.SetOutputs(octx, map[string]any{"drained": true})
			release()
		})
		var sErr error
		wg.Go(func() {
			<-start
			_, _, sErr = svc.SuspendTracers(within(t, ctx), nil)
		})
		close(start)
		wg.Wait()
		require.NoError(t, sErr, "round %d", i)
		require.NoError(t, svc.Shutdown(deadline(t)))
		assert.Empty(t, log.all(), "round %d", i)

		run, ok := rec.Run("r")
		require.True(t, ok)
		require.True(t, run.Suspended)
		require.Len(t, run.Components, 2, "round %d", i)
		o, n := component(t, run, "old"), component(t, run, "new")
		assert.NotEqual(t, o.Info.ComponentID, n.Info.ComponentID, "round %d: exporters tell them apart", i)
		assert.True(t, o.Ended)
		assert.False(t, o.Suspended, "round %d: the old one's End came first", i)
		require.Error(t, o.Err)
		assert.Equal(t, "old failed", o.Err.Error())
		assert.True(t, n.Ended)
		assert.True(t, n.Suspended, "round %d: the new one was open", i)
	}
}

// TestContinuationStartsWhileTheSuspendedRunStillDelivers suspends a run
// without waiting for its delivery to a gated exporter, starts its
// continuation at once in the same service, ends it, and shuts down: both
// runs reach every exporter whole, the suspended one's end before it
// finished, the continuation's start naming it.
func TestContinuationStartsWhileTheSuspendedRunStillDelivers(t *testing.T) {
	for i := range 30 {
		gate := make(chan struct{})
		var once sync.Once
		slow := newFuncExporter("slow", func(ctx context.Context, _ string) error {
			select {
			case <-gate:
			case <-ctx.Done():
			}
			return nil
		})
		svc, rec, log := newServiceNoCleanup(t, flowtrace.WithExporter(slow))
		ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunID: "first", SessionID: "s"})
		require.NoError(t, err)
		cctx, _ := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "approval"})
		flowtrace.AddLog(cctx, flowtrace.Log{Name: "asked"})
		quick, cancel := context.WithCancel(ctx)
		cancel() // do not wait for delivery
		cp, _, err := svc.SuspendTracers(quick, map[string]any{"waiting": true})
		require.ErrorIs(t, err, context.Canceled)

		rctx, err := svc.StartTracers(flowtrace.ContextWithCheckpoint(context.Background(), cp), flowtrace.RunInfo{RunID: "second"})
		require.NoError(t, err)
		_, step := flowtrace.TraceComponent(rctx, flowtrace.ComponentInfo{Name: "ship"})
		step.End(nil)
		go once.Do(func() { close(gate) })
		sum, err := svc.EndTracers(within(t, rctx), nil, nil)
		require.NoError(t, err, "round %d", i)
		requireBalanced(t, sum)
		require.NoError(t, svc.Shutdown(deadline(t)))
		requireStatsBalanced(t, svc.Stats())
		for name, st := range svc.Stats().Exporters {
			assert.Zero(t, st.Failed+st.Dropped, "round %d: exporter %s lost nothing: %+v", i, name, st)
		}
		assert.Empty(t, log.all(), "round %d", i)
		for _, r := range []*memory.Exporter{rec, slow.rec} {
			first, ok := r.Run("first")
			require.True(t, ok)
			assert.True(t, first.Suspended, "round %d", i)
			require.Len(t, first.Components, 1)
			assert.True(t, first.Components[0].Suspended)
			assert.Len(t, first.Components[0].Logs, 1)
			second, ok := r.Run("second")
			require.True(t, ok)
			assert.True(t, second.Ended)
			assert.True(t, second.Info.Resumed)
			assert.Equal(t, "first", second.Info.ParentRunID)
			assert.Equal(t, "s", second.Info.SessionID)
			require.Len(t, second.Components, 1)
		}
	}
}

// TestRunNestedUnderARefusedStartHangsUnderADeliveredSpan: a run started
// in the ctx of a refused TraceComponent was nested under the marker's
// span and component ID, which no exporter ever sees: its parent, in the
// exported trace, did not exist. As the marker's OpenTelemetry span, and
// its checkpoint, it is the run's own scope that it stands for.
func TestRunNestedUnderARefusedStartHangsUnderADeliveredSpan(t *testing.T) {
	svc, rec, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunID: "outer"})
	require.NoError(t, err)
	pctx, parent := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "parent"})
	parent.End(nil)
	mctx, c := svc.TraceComponent(pctx, flowtrace.ComponentInfo{Name: "refused"})
	require.Nil(t, c)

	nctx, err := svc.StartTracers(mctx, flowtrace.RunInfo{RunID: "inner"})
	require.NoError(t, err)
	_, err = svc.EndTracers(within(t, nctx), nil, nil)
	require.NoError(t, err)
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)

	outer, _ := rec.Run("outer")
	inner, ok := rec.Run("inner")
	require.True(t, ok)
	assert.Equal(t, "outer", inner.Info.ParentRunID)
	assert.Equal(t, outer.Info.SpanID, inner.Info.ParentSpanID, "the nested run hangs under a span that was delivered")
	assert.Empty(t, inner.Info.ParentComponentID, "no component was started: none is the parent")
	assert.Equal(t, trace.SpanContextFromContext(mctx).SpanID(), trace.SpanID(inner.Info.ParentSpanID), "as the marker's OpenTelemetry span says")
}

package flowtrace_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
)

// TestExporterEndingFromItsOwnCallDoesNotWaitForItself has an exporter, from
// inside one of its calls, end the run it is serving or shut the service
// down, with the ctx it was handed or with none at all. The export timeout
// is an hour, so only the library knowing it is called from that
// exporter's delivery can keep it from waiting for itself.
func TestExporterEndingFromItsOwnCallDoesNotWaitForItself(t *testing.T) {
	for _, tc := range []struct {
		name string
		call func(svc *flowtrace.TraceService, run, handed context.Context) error
	}{
		{"EndTracers of its run", func(svc *flowtrace.TraceService, run, _ context.Context) error {
			_, err := svc.EndTracers(run, nil, nil)
			return err
		}},
		{"Shutdown with the handed ctx", func(svc *flowtrace.TraceService, _, handed context.Context) error {
			return svc.Shutdown(handed)
		}},
		{"Shutdown without deadline", func(svc *flowtrace.TraceService, _, _ context.Context) error {
			return svc.Shutdown(context.Background())
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var svc *flowtrace.TraceService
			var run context.Context
			var once sync.Once
			returned := make(chan error, 1)
			self := newFuncExporter("self", func(ctx context.Context, m string) error {
				if m == "AddLog" {
					once.Do(func() { returned <- tc.call(svc, run, ctx) })
				}
				return nil
			})
			var err error
			svc, err = flowtrace.NewTraceService(flowtrace.WithExporter(self), flowtrace.WithExportTimeout(time.Hour),
				flowtrace.WithErrorHandler(func(error) {}))
			require.NoError(t, err)
			run, err = svc.StartTracers(context.Background(), flowtrace.RunInfo{})
			require.NoError(t, err)
			svc.AddLog(run, flowtrace.Log{Name: "go"})
			select {
			case err := <-returned:
				require.ErrorIs(t, err, flowtrace.ErrInDelivery, "the call says it could not wait for its own exporter")
			case <-deadline(t).Done():
				t.Fatalf("%s from inside the exporter's call waited for that call", tc.name)
			}
			require.NoError(t, svc.Shutdown(deadline(t)))
			requireStatsBalanced(t, svc.Stats())
			assert.Equal(t, flowtrace.Delivery{Emitted: 3, Delivered: 3}, svc.Stats().Exporters["self"])
		})
	}
}

// TestErrorHandlerMayWaitForDelivery has the error handler, told of an
// exporter's failure, end that exporter's run or shut the service down
// without a deadline. The handler never runs on a delivery goroutine, so
// neither waits for itself.
func TestErrorHandlerMayWaitForDelivery(t *testing.T) {
	for _, closer := range []string{"EndTracers", "Shutdown"} {
		t.Run(closer, func(t *testing.T) {
			failing := newFuncExporter("failing", func(_ context.Context, m string) error {
				if m == "AddLog" {
					return errors.New("backend down")
				}
				return nil
			})
			var svc *flowtrace.TraceService
			var run context.Context
			var once sync.Once
			returned := make(chan error, 1)
			handler := func(err error) {
				once.Do(func() {
					if closer == "EndTracers" {
						_, err = svc.EndTracers(run, nil, nil)
					} else {
						err = svc.Shutdown(context.Background())
					}
					returned <- err
				})
			}
			var err error
			svc, err = flowtrace.NewTraceService(flowtrace.WithExporter(failing), flowtrace.WithErrorHandler(handler),
				flowtrace.WithExportTimeout(time.Hour))
			require.NoError(t, err)
			run, err = svc.StartTracers(context.Background(), flowtrace.RunInfo{})
			require.NoError(t, err)
			svc.AddLog(run, flowtrace.Log{Name: "fails"})
			select {
			case <-returned:
			case <-deadline(t).Done():
				t.Fatalf("%s from the error handler waited for itself", closer)
			}
			require.NoError(t, svc.Shutdown(deadline(t)))
			st := svc.Stats()
			requireStatsBalanced(t, st)
			assert.Equal(t, flowtrace.Delivery{Emitted: 3, Delivered: 2, Failed: 1}, st.Exporters["failing"])
		})
	}
}

// TestShutdownWaitsForTheErrorHandler has the error handler still running,
// told of an abandoned call, when Shutdown is called: Shutdown must not
// return nil while it runs, since after nil no goroutine of the service
// is left.
func TestShutdownWaitsForTheErrorHandler(t *testing.T) {
	releaseCall := make(chan struct{})
	callReturned := make(chan struct{})
	var once sync.Once
	hanging := newFuncExporter("hanging", func(_ context.Context, m string) error {
		if m == "AddLog" {
			once.Do(func() {
				defer close(callReturned)
				<-releaseCall // ignores ctx
			})
		}
		return nil
	})
	inHandler := make(chan struct{})
	releaseHandler := make(chan struct{})
	var handlerOnce sync.Once
	handler := func(err error) {
		if errors.Is(err, flowtrace.ErrExportTimeout) {
			handlerOnce.Do(func() {
				close(inHandler)
				<-releaseHandler
			})
		}
	}
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(hanging), flowtrace.WithErrorHandler(handler),
		flowtrace.WithExportTimeout(20*time.Millisecond))
	require.NoError(t, err)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	svc.AddLog(ctx, flowtrace.Log{Name: "hangs"})
	select {
	case <-inHandler:
	case <-deadline(t).Done():
		t.Fatal("the abandonment was not reported")
	}
	close(releaseCall)
	<-callReturned

	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	require.Error(t, svc.Shutdown(short), "the error handler is still running")
	close(releaseHandler)
	require.NoError(t, svc.Shutdown(deadline(t)))
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

package flowtrace_test

import (
	"context"
	"errors"
	"sync"
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

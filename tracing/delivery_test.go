package tracing_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
	"github.com/flowtrace/flowtrace/tracing"
)

// stalled is an exporter whose every run blocks in StartRun until the test
// closes release: a hung backend, as far as the service can tell.
type stalled struct {
	*memory.Exporter
	entered chan struct{} // receives once per StartRun
	release chan struct{}
}

func newStalled() *stalled {
	return &stalled{Exporter: memory.New(), entered: make(chan struct{}, 64), release: make(chan struct{})}
}

func (s *stalled) StartRun(ctx context.Context, info flowtrace.RunStart) (flowtrace.RunExporter, error) {
	s.entered <- struct{}{}
	<-s.release
	return s.Exporter.StartRun(ctx, info)
}

// TestMiddlewareDoesNotWaitForDelivery: by default, a hung exporter does
// not hold the response: the client has the whole response, and the
// handler's ServeHTTP has returned, while the exporter is still stuck on
// the run's first record. Once it is released, every record of the run is
// delivered, the end included.
func TestMiddlewareDoesNotWaitForDelivery(t *testing.T) {
	exp := newStalled()
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(exp))
	require.NoError(t, err)
	released := false
	defer func() {
		if !released {
			close(exp.release)
		}
		assert.NoError(t, svc.Shutdown(within(t, context.Background())))
	}()
	srv, done := serve(t, tracing.Middleware(svc, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cctx, c := svc.TraceComponent(r.Context(), flowtrace.ComponentInfo{Name: "work"})
		svc.SetOutputs(cctx, map[string]any{"n": 1})
		c.End(nil)
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, "done")
	})))

	resp, err := srv.Client().Get(srv.URL + "/work")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body) // the whole response: net/http has completed it
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, "done", string(body))
	assert.Equal(t, http.StatusAccepted, resp.StatusCode)
	wait(t, done, 1)        // the middleware has returned...
	wait(t, exp.entered, 1) // ...and the exporter is stuck on the run's start
	assert.Zero(t, exp.Len(), "nothing has been delivered yet")

	close(exp.release)
	released = true
	settle(t, svc)
	run := onlyRun(t, svc, exp.Exporter)
	assert.True(t, run.Ended, "the run's end, queued by the middleware, was delivered")
	assert.Equal(t, int64(http.StatusAccepted), run.Outputs[tracing.KeyStatusCode])
	require.Len(t, run.Components, 1)
	d := svc.Stats().Exporters["memory"]
	assert.Equal(t, d.Emitted, d.Delivered, "every record counted as delivered: %+v", d)
}

// failingEnd is an exporter whose EndRun fails.
type failingEnd struct{ *memory.Exporter }

var errBackendDown = errors.New("backend down")

func (f failingEnd) StartRun(ctx context.Context, info flowtrace.RunStart) (flowtrace.RunExporter, error) {
	re, err := f.Exporter.StartRun(ctx, info)
	return failingEndRun{re}, err
}

type failingEndRun struct{ flowtrace.RunExporter }

func (failingEndRun) EndRun(context.Context, flowtrace.RunEnd) error { return errBackendDown }

// TestMiddlewareReportsWhatItDoesNotWaitFor: the middleware does not wait
// for delivery, but what fails to be delivered still reaches the service's
// error handler and is counted in Stats.
func TestMiddlewareReportsWhatItDoesNotWaitFor(t *testing.T) {
	var mu sync.Mutex
	var reported []error
	svc, err := flowtrace.NewTraceService(
		flowtrace.WithExporter(failingEnd{memory.New()}),
		flowtrace.WithErrorHandler(func(err error) {
			mu.Lock()
			reported = append(reported, err)
			mu.Unlock()
		}))
	require.NoError(t, err)
	h := tracing.Middleware(svc, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv, done := serve(t, h)
	const n = 3
	for range n {
		get(t, context.Background(), srv.Client(), srv.URL, nil)
	}
	wait(t, done, n)
	settle(t, svc) // returns after the error handler has had every report

	d := svc.Stats().Exporters["memory"]
	assert.Equal(t, uint64(n), d.Failed, "each run's failed end is counted: %+v", d)
	assert.Equal(t, d.Emitted, d.Delivered+d.Failed+d.Dropped)
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, reported, "the failures reached the error handler")
	for _, err := range reported {
		assert.ErrorIs(t, err, errBackendDown)
	}
}

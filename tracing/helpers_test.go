package tracing_test

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

// waitLimit bounds every wait for asynchronous work: a hang fails the test
// instead of timing the whole binary out. It is not a performance bound.
const waitLimit = 30 * time.Second

// newService returns a recording service that is shut down when the test
// ends, and fails the test if it reported any error.
func newService(t *testing.T, opts ...flowtrace.Option) (*flowtrace.TraceService, *memory.Exporter) {
	t.Helper()
	rec := memory.New()
	var mu sync.Mutex
	var errs []error
	opts = append([]flowtrace.Option{
		flowtrace.WithExporter(rec),
		flowtrace.WithErrorHandler(func(err error) {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}),
	}, opts...)
	svc, err := flowtrace.NewTraceService(opts...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		assert.NoError(t, svc.Shutdown(ctx))
		mu.Lock()
		defer mu.Unlock()
		assert.Empty(t, errs, "the service reported errors")
	})
	return svc, rec
}

// serve runs h on a test server on 127.0.0.1. The channel receives once
// per request, after h has returned (or panicked): by then the
// Middleware has ended the request's run.
func serve(t *testing.T, h http.Handler) (*httptest.Server, <-chan struct{}) {
	t.Helper()
	done := make(chan struct{}, 1024)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { done <- struct{}{} }()
		h.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // panics are expected in some tests
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, done
}

func wait(t *testing.T, done <-chan struct{}, n int) {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for range n {
		select {
		case <-done:
		case <-deadline.C:
			t.Fatalf("handlers did not all return within %v", waitLimit)
		}
	}
}

func within(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, waitLimit)
	t.Cleanup(cancel)
	return ctx
}

// settle shuts each service down, which returns once every run's records
// have been delivered: the Middleware does not wait for delivery, so a test
// reads an exporter after this. (The cleanup's Shutdown returns nil again.)
func settle(t *testing.T, svcs ...*flowtrace.TraceService) {
	t.Helper()
	for _, svc := range svcs {
		require.NoError(t, svc.Shutdown(within(t, context.Background())), "every run delivered")
	}
}

// onlyRun returns the one run rec holds, once svc has delivered it.
func onlyRun(t *testing.T, svc *flowtrace.TraceService, rec *memory.Exporter) memory.Run {
	t.Helper()
	settle(t, svc)
	runs := rec.Runs()
	require.Len(t, runs, 1, "runs recorded")
	return runs[0]
}

func get(t *testing.T, ctx context.Context, client *http.Client, url string, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	return resp
}

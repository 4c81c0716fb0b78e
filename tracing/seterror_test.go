package tracing_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/tracing"
)

func TestSetError(t *testing.T) {
	errCause := errors.New("upstream quota exceeded")
	tests := []struct {
		name    string
		status  int
		set     func(ctx context.Context)
		want    []error // errors.Is the run's error, each
		wantMsg string
		noErr   bool
	}{
		{"cause joined with the status error", http.StatusBadGateway,
			func(ctx context.Context) { tracing.SetError(ctx, errCause) },
			[]error{errCause, tracing.ErrServerError}, "upstream quota exceeded\ntracing: server error status: 502 Bad Gateway", false},
		{"cause alone under a 200", http.StatusOK,
			func(ctx context.Context) { tracing.SetError(ctx, errCause) },
			[]error{errCause}, "upstream quota exceeded", false},
		{"a later call replaces", http.StatusOK,
			func(ctx context.Context) {
				tracing.SetError(ctx, errors.New("first"))
				tracing.SetError(ctx, errCause)
			}, []error{errCause}, "upstream quota exceeded", false},
		{"nil clears", http.StatusOK,
			func(ctx context.Context) {
				tracing.SetError(ctx, errCause)
				tracing.SetError(ctx, nil)
			}, nil, "", true},
		{"from a component's ctx", http.StatusInternalServerError,
			func(ctx context.Context) {
				cctx, c := flowtrace.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "call"})
				tracing.SetError(cctx, errCause)
				c.End(nil)
			}, []error{errCause, tracing.ErrServerError}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, rec := newService(t)
			srv, done := serve(t, tracing.Middleware(svc, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tt.set(r.Context())
				w.WriteHeader(tt.status)
			})))
			get(t, context.Background(), srv.Client(), srv.URL, nil)
			wait(t, done, 1)
			run := onlyRun(t, svc, rec)
			if tt.noErr {
				assert.NoError(t, run.Err)
				return
			}
			require.Error(t, run.Err)
			for _, e := range tt.want {
				assert.ErrorIs(t, run.Err, e)
			}
			if tt.wantMsg != "" {
				assert.Equal(t, tt.wantMsg, run.Err.Error())
			}
		})
	}
}

// TestSetErrorMasked: the cause is recorded like every error: a secret
// the run has seen is scrubbed from its message.
func TestSetErrorMasked(t *testing.T) {
	svc, rec := newService(t)
	srv, done := serve(t, tracing.Middleware(svc, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		flowtrace.SetInputs(r.Context(), map[string]any{"api_key": "sk-live-0123456789abcdef"})
		tracing.SetError(r.Context(), errors.New("auth failed for sk-live-0123456789abcdef"))
		w.WriteHeader(http.StatusUnauthorized)
	})))
	get(t, context.Background(), srv.Client(), srv.URL, nil)
	wait(t, done, 1)
	run := onlyRun(t, svc, rec)
	require.Error(t, run.Err)
	assert.NotContains(t, run.Err.Error(), "sk-live-0123456789abcdef", "the secret scrubbed from the cause")
}

func TestSetErrorConcurrentAndOutsideARun(t *testing.T) {
	tracing.SetError(context.Background(), errors.New("no run")) // no-op, no panic
	tracing.SetError(nil, errors.New("nil ctx"))                 //nolint:staticcheck // a nil ctx is tolerated

	svc, rec := newService(t)
	outside, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	tracing.SetError(outside, errors.New("not a middleware run"))
	sum, err := svc.EndTracers(within(t, outside), nil, nil)
	require.NoError(t, err)
	r, _ := rec.Run(sum.RunID)
	assert.NoError(t, r.Err, "a run the Middleware did not start is untouched")

	errs := make([]error, 16)
	for i := range errs {
		errs[i] = errors.New("cause")
	}
	srv, done := serve(t, tracing.Middleware(svc, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		var wg sync.WaitGroup
		for _, e := range errs {
			wg.Go(func() { tracing.SetError(r.Context(), e) })
		}
		wg.Wait()
	})))
	get(t, context.Background(), srv.Client(), srv.URL, nil)
	wait(t, done, 1)
	settle(t, svc)
	var got error
	for _, run := range rec.Runs() {
		if run.Info.RunID != sum.RunID {
			got = run.Err
		}
	}
	require.Error(t, got)
	assert.Condition(t, func() bool {
		for _, e := range errs {
			if errors.Is(got, e) {
				return true
			}
		}
		return false
	}, "the run ends with one of the causes set concurrently")
}

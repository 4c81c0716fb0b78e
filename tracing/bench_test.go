package tracing_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/tracing"
)

// discard is an exporter that receives everything and keeps nothing.
type discard struct{}

func (discard) Name() string                   { return "discard" }
func (discard) Shutdown(context.Context) error { return nil }
func (discard) StartRun(context.Context, flowtrace.RunStart) (flowtrace.RunExporter, error) {
	return discardRun{}, nil
}

type discardRun struct{}

func (discardRun) StartComponent(context.Context, flowtrace.ComponentStart) error { return nil }
func (discardRun) AddLog(context.Context, flowtrace.LogEntry) error               { return nil }
func (discardRun) SetOutputs(context.Context, flowtrace.Outputs) error            { return nil }
func (discardRun) EndComponent(context.Context, flowtrace.ComponentEnd) error     { return nil }
func (discardRun) EndRun(context.Context, flowtrace.RunEnd) error                 { return nil }

func benchService(b *testing.B, opts ...flowtrace.Option) *flowtrace.TraceService {
	svc, err := flowtrace.NewTraceService(append([]flowtrace.Option{flowtrace.WithExporter(discard{})}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = svc.Shutdown(context.Background()) })
	return svc
}

// BenchmarkMiddleware serves requests directly (no network) through the
// middleware, against the bare handler, to show what a run per request
// costs.
func BenchmarkMiddleware(b *testing.B) {
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	remote := http.Header{
		"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		"Baggage":     {"flowtrace.run.id=0f8fad5b-d9cb-469f-a165-70867728950e,tenant=t1"},
	}
	cases := []struct {
		name   string
		h      http.Handler
		header http.Header
	}{
		{"bare handler", next, nil},
		{"sampled", tracing.Middleware(benchService(b), next), nil},
		{"sampled, remote parent", tracing.Middleware(benchService(b), next), remote},
		{"unsampled", tracing.Middleware(benchService(b, flowtrace.WithSampler(flowtrace.NeverSample())), next), nil},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req := httptest.NewRequest(http.MethodGet, "/items", nil)
				req.Header = c.header
				w := httptest.NewRecorder()
				for pb.Next() {
					c.h.ServeHTTP(w, req)
				}
			})
		})
	}
}

type nopRoundTripper struct{}

func (nopRoundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody, Request: r}, nil
}

func BenchmarkTransport(b *testing.B) {
	svc := benchService(b)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	if err != nil {
		b.Fatal(err)
	}
	cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "call"})
	b.Cleanup(func() { c.End(nil); _, _ = svc.EndTracers(ctx, nil, nil) })
	rt := tracing.Transport(nopRoundTripper{})
	for _, tc := range []struct {
		name string
		ctx  context.Context
	}{{"outside a run", context.Background()}, {"in a component", cctx}} {
		b.Run(tc.name, func(b *testing.B) {
			req := httptest.NewRequestWithContext(tc.ctx, http.MethodGet, "http://example.test/", nil)
			req.Header.Set("Baggage", "tenant=t1")
			b.ReportAllocs()
			for b.Loop() {
				_, _ = rt.RoundTrip(req)
			}
		})
	}
}

func BenchmarkSlogHandler(b *testing.B) {
	svc := benchService(b)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _, _ = svc.EndTracers(ctx, nil, nil) })
	inner := slog.NewJSONHandler(discardWriter{}, nil)
	for _, tc := range []struct {
		name string
		h    slog.Handler
		ctx  context.Context
	}{
		{"JSON handler alone", inner, ctx},
		{"wrapped, outside a run", tracing.SlogHandler(inner, svc), context.Background()},
		{"wrapped, in a run", tracing.SlogHandler(inner, svc), ctx},
	} {
		b.Run(tc.name, func(b *testing.B) {
			l := slog.New(tc.h).With("service", "api")
			b.ReportAllocs()
			for b.Loop() {
				l.InfoContext(tc.ctx, "request", "path", "/items", "status", 200)
			}
		})
	}
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

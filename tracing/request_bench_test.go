package tracing_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/tracing"
)

// countSpans is an SDK exporter that counts the spans the batch processor
// hands it and keeps nothing.
type countSpans struct{ n atomic.Int64 }

func (c *countSpans) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	c.n.Add(int64(len(spans)))
	return nil
}

func (c *countSpans) Shutdown(context.Context) error { return nil }

// processCPU returns the CPU time the process has used, every goroutine
// included: the delivery goroutines and the SDK's batcher do part of the
// work.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkHTTPRequest serves one request through the Middleware whose
// handler makes one call through the Transport (to a RoundTripper stub,
// no network), and the same with otelhttp's handler and transport over
// the OpenTelemetry SDK (a blocking batch processor into a discarding
// exporter): a server span and a client span each. flowtrace records into
// an exporter that keeps nothing, with a blocking queue. Either side is
// drained inside the timing (Shutdown), and cpu-ns/op counts the whole
// process's CPU per request, delivery goroutines included. The request
// either starts a trace or continues a caller's (traceparent and baggage
// headers).
func BenchmarkHTTPRequest(b *testing.B) {
	remote := http.Header{
		"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		"Baggage":     {"flowtrace.run.id=0f8fad5b-d9cb-469f-a165-70867728950e,tenant=t1"},
	}
	cases := []struct {
		name   string
		header http.Header
	}{{"new trace", http.Header{}}, {"remote parent", remote}}
	// handler calls the second service through rt with the request's ctx
	// and answers with what it got.
	handler := func(rt http.RoundTripper) http.Handler {
		out := httptest.NewRequest(http.MethodGet, "http://search.internal:8081/search?q=go", nil)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			resp, err := rt.RoundTrip(out.WithContext(r.Context()))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			_ = resp.Body.Close()
			w.WriteHeader(http.StatusNoContent)
		})
	}
	timed := func(b *testing.B, h http.Handler, header http.Header, drain func()) {
		req := httptest.NewRequest(http.MethodGet, "/ask?q=hello", nil)
		req.Header = header
		w := httptest.NewRecorder()
		b.ReportAllocs()
		b.ResetTimer()
		c0 := processCPU()
		for range b.N {
			h.ServeHTTP(w, req)
		}
		drain()
		cpu := processCPU() - c0
		b.StopTimer()
		if w.Code != http.StatusNoContent {
			b.Fatalf("status %d", w.Code)
		}
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
	for _, c := range cases {
		b.Run("flowtrace/"+c.name, func(b *testing.B) {
			svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(discard{}), flowtrace.WithOverflow(flowtrace.BlockFor(time.Minute)))
			if err != nil {
				b.Fatal(err)
			}
			h := tracing.Middleware(svc, handler(tracing.Transport(nopRoundTripper{})))
			timed(b, h, c.header, func() {
				if err := svc.Shutdown(context.Background()); err != nil {
					b.Error(err)
				}
			})
			if d := svc.Stats().Exporters["discard"]; d.Delivered != d.Emitted {
				b.Fatalf("lost records: %+v", d)
			}
		})
		b.Run("otel-sdk/"+c.name, func(b *testing.B) {
			spans := &countSpans{}
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(spans, sdktrace.WithBlocking()))
			prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
			rt := otelhttp.NewTransport(nopRoundTripper{}, otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(prop))
			h := otelhttp.NewHandler(handler(rt), "ask", otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(prop))
			timed(b, h, c.header, func() {
				if err := tp.Shutdown(context.Background()); err != nil {
					b.Error(err)
				}
			})
			if got, want := spans.n.Load(), int64(2*b.N); got != want {
				b.Fatalf("exported %d spans, want %d", got, want)
			}
		})
	}
}

package otelspans_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/otelspans"
)

// cpuTime returns the CPU time of the whole process, every goroutine
// included: the sender's, the SDK's batch processor's and the server's.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// discardCollector is a collector stand-in on 127.0.0.1: it reads and
// discards each request's body and answers 200 with an empty
// ExportTraceServiceResponse.
func discardCollector(b *testing.B) string {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	b.Cleanup(srv.Close)
	return srv.URL + "/v1/traces"
}

// The data of one component, as the root package's benchmarks record it:
// three inputs, a log, two outputs.
var (
	benchInputs  = map[string]any{"query": "hello", "temperature": 0.2, "max_tokens": 256}
	benchOutputs = map[string]any{"text": "world", "tokens": 42}
	benchLog     = flowtrace.Log{Name: "prompt", Message: "hello"}
)

const componentsPerRun = 10

// BenchmarkOTLPExport records runs of ten components and sends them as
// OTLP/HTTP protobuf, gzipped, to the same local collector stand-in:
// "otel-sdk" with the OpenTelemetry SDK alone (its batch processor, blocking so
// that it drops nothing, and otlptracehttp), building the same
// OpenInference attributes (JSON included) by hand; "flowtrace" through a
// TraceService and NewOTLP, recording included. One op is one run (eleven
// spans, EndTracers included for flowtrace); every span is sent inside
// the timing (a flush after the last run). It reports the CPU time of the
// whole process per span (cpu-ns/span).
func BenchmarkOTLPExport(b *testing.B) {
	const spansPerRun = componentsPerRun + 1
	timed := func(b *testing.B, run func(), drain func()) {
		b.ReportAllocs()
		b.ResetTimer()
		c0 := cpuTime()
		for range b.N {
			run()
		}
		drain()
		cpu := cpuTime() - c0
		b.StopTimer()
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*spansPerRun), "cpu-ns/span")
	}
	b.Run("otel-sdk", func(b *testing.B) {
		exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(discardCollector(b)),
			otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
		if err != nil {
			b.Fatal(err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBlocking()))
		b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		tracer := tp.Tracer("bench")
		timed(b, func() {
			ctx, root := tracer.Start(context.Background(), "bench", trace.WithAttributes(
				attribute.String(otelspans.KeyRunID, "r"), attribute.String(otelspans.KeySessionID, "s1"),
				attribute.String(otelspans.KeyRunName, "bench"), attribute.String(otelspans.KeyOISpanKind, "CHAIN")))
			for range componentsPerRun {
				in, _ := json.Marshal(benchInputs)
				_, span := tracer.Start(ctx, "OpenAI", trace.WithAttributes(
					attribute.String(otelspans.KeyRunID, "r"), attribute.String(otelspans.KeySessionID, "s1"),
					attribute.String(otelspans.KeyComponentID, "c"), attribute.String(otelspans.KeyComponentType, "llm"),
					attribute.String(otelspans.KeyOISpanKind, "LLM"),
					attribute.String(otelspans.KeyOIInputValue, string(in)), attribute.String(otelspans.KeyOIInputMimeType, "application/json")))
				span.AddEvent("prompt", trace.WithAttributes(attribute.String(otelspans.KeyLogMessage, "hello")))
				out, _ := json.Marshal(benchOutputs)
				span.SetAttributes(attribute.String(otelspans.KeyOIOutputValue, string(out)), attribute.String(otelspans.KeyOIOutputMimeType, "application/json"))
				span.End()
			}
			root.End()
		}, func() {
			if err := tp.ForceFlush(context.Background()); err != nil {
				b.Error(err)
			}
		})
	})
	b.Run("flowtrace", func(b *testing.B) {
		exp, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(discardCollector(b)),
			otelspans.WithGzip(true), otelspans.WithErrorHandler(func(err error) { b.Error(err) }))
		if err != nil {
			b.Fatal(err)
		}
		svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(exp), flowtrace.WithOverflow(flowtrace.BlockFor(time.Minute)),
			flowtrace.WithErrorHandler(func(err error) { b.Error(err) }))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = svc.Shutdown(context.Background()) })
		flusher := exp.TracerProvider().(interface{ ForceFlush(context.Context) error })
		timed(b, func() {
			ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "bench", SessionID: "s1"})
			if err != nil {
				b.Fatal(err)
			}
			for range componentsPerRun {
				cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "OpenAI", Type: "llm", Inputs: benchInputs})
				svc.AddLog(cctx, benchLog)
				svc.SetOutputs(cctx, benchOutputs)
				c.End(nil)
			}
			if _, err := svc.EndTracers(ctx, nil, nil); err != nil {
				b.Fatal(err)
			}
		}, func() {
			if err := flusher.ForceFlush(context.Background()); err != nil {
				b.Error(err)
			}
		})
		if st := exp.SpanStats(); st.Exported != st.Ended {
			b.Fatalf("%d spans exported of %d ended", st.Exported, st.Ended)
		}
	})
}

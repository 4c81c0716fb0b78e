package otelspans_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/otelspans"
)

// discardSpans counts the spans the batch processor hands it.
type discardSpans struct{ n atomic.Int64 }

func (d *discardSpans) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	d.n.Add(int64(len(spans)))
	return nil
}
func (d *discardSpans) Shutdown(context.Context) error { return nil }

// cpuTime returns the CPU time the process has used, every goroutine
// included: the bridge's work happens on flowtrace's delivery goroutine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkOTelBridge records the same component — inputs, a log, outputs,
// end — through flowtrace and otelspans, and with the OpenTelemetry SDK
// alone (building the same OpenInference attributes, JSON included), over
// the same kind of provider: a blocking batch processor into a discarding
// exporter. Blocks alternate so both see the same machine load; each
// includes its drain (EndTracers and ForceFlush). It reports the bridge's
// total CPU and wall time per component as ratios of the SDK's, and the
// spans per second delivered through the bridge.
func BenchmarkOTelBridge(b *testing.B) {
	const block = 512
	bridgeSpans := &discardSpans{}
	btp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(bridgeSpans, sdktrace.WithBlocking()), sdktrace.WithIDGenerator(otelspans.IDGenerator()))
	defer func() { _ = btp.Shutdown(context.Background()) }()
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(otelspans.New(btp)), flowtrace.WithOverflow(flowtrace.BlockFor(time.Minute)))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = svc.Shutdown(context.Background()) }()

	sdkSpans := &discardSpans{}
	stp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(sdkSpans, sdktrace.WithBlocking()))
	defer func() { _ = stp.Shutdown(context.Background()) }()
	tracer := stp.Tracer("bench")

	var bCPU, sCPU, bWall, sWall time.Duration
	measure := func(cpu, wall *time.Duration, f func()) {
		c0, w0 := cpuTime(), time.Now()
		f()
		*wall += time.Since(w0)
		*cpu += cpuTime() - c0
	}
	b.ReportAllocs()
	ops := 0
	for ops < b.N {
		n := min(block, b.N-ops)
		ops += n
		measure(&bCPU, &bWall, func() {
			ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "bench", SessionID: "s1"})
			if err != nil {
				b.Fatal(err)
			}
			for range n {
				cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "OpenAI", Type: "llm", Inputs: map[string]any{"q": "hello"}})
				svc.AddLog(cctx, flowtrace.Log{Name: "prompt", Message: "hello"})
				svc.SetOutputs(cctx, map[string]any{"text": "world"})
				c.End(nil)
			}
			sum, err := svc.EndTracers(ctx, nil, nil)
			if d := sum.Exporters["otelspans"]; err != nil || d.Delivered != d.Emitted {
				b.Fatalf("events lost: %+v, %v", d, err)
			}
			if err := btp.ForceFlush(context.Background()); err != nil {
				b.Fatal(err)
			}
		})
		measure(&sCPU, &sWall, func() {
			ctx, root := tracer.Start(context.Background(), "bench", trace.WithAttributes(
				attribute.String(otelspans.KeyRunID, "r"), attribute.String(otelspans.KeySessionID, "s1"),
				attribute.String(otelspans.KeyRunName, "bench"), attribute.String(otelspans.KeyOISpanKind, "CHAIN")))
			for range n {
				in, _ := json.Marshal(map[string]any{"q": "hello"})
				_, span := tracer.Start(ctx, "OpenAI", trace.WithAttributes(
					attribute.String(otelspans.KeyRunID, "r"), attribute.String(otelspans.KeySessionID, "s1"),
					attribute.String(otelspans.KeyComponentID, "c"), attribute.String(otelspans.KeyComponentType, "llm"),
					attribute.String(otelspans.KeyOISpanKind, "LLM"),
					attribute.String(otelspans.KeyOIInputValue, string(in)), attribute.String(otelspans.KeyOIInputMimeType, "application/json")))
				span.AddEvent("prompt", trace.WithAttributes(attribute.String(otelspans.KeyLogMessage, "hello")))
				out, _ := json.Marshal(map[string]any{"text": "world"})
				span.SetAttributes(attribute.String(otelspans.KeyOIOutputValue, string(out)), attribute.String(otelspans.KeyOIOutputMimeType, "application/json"))
				span.End()
			}
			root.End()
			if err := stp.ForceFlush(context.Background()); err != nil {
				b.Fatal(err)
			}
		})
	}
	if got, want := bridgeSpans.n.Load(), sdkSpans.n.Load(); got != want {
		b.Fatalf("bridge exported %d spans, SDK %d", got, want)
	}
	b.ReportMetric(float64(bCPU)/float64(sCPU), "cpu-ratio")
	b.ReportMetric(float64(bWall)/float64(sWall), "wall-ratio")
	b.ReportMetric(float64(bCPU.Nanoseconds())/float64(b.N), "bridge-cpu-ns/op")
	b.ReportMetric(float64(sCPU.Nanoseconds())/float64(b.N), "sdk-cpu-ns/op")
	b.ReportMetric(float64(bridgeSpans.n.Load())/bWall.Seconds(), "bridge-spans/s")
}

package flowtrace_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowtrace/flowtrace"
)

// discardSpans is the OpenTelemetry SDK's counterpart of discardExporter.
type discardSpans struct{ n atomic.Int64 }

func (d *discardSpans) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	d.n.Add(int64(len(spans)))
	return nil
}

func (d *discardSpans) Shutdown(context.Context) error { return nil }

// benchFlowtraceComponent records one component per op (start with inputs,
// a log, outputs, end) and includes the pipeline's drain: EndTracers waits
// until every event is delivered. BlockFor makes sure nothing is dropped.
func benchFlowtraceComponent(b *testing.B) {
	exp := &discardExporter{}
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(exp), flowtrace.WithOverflow(flowtrace.BlockFor(time.Minute)))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = svc.Shutdown(context.Background()) }()
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "OpenAI", Type: "llm", Inputs: map[string]any{"q": "hello"}})
		svc.AddLog(cctx, flowtrace.Log{Name: "prompt", Message: "hello"})
		svc.SetOutputs(cctx, map[string]any{"text": "world"})
		c.End(nil)
	}
	sum, err := svc.EndTracers(ctx, nil, nil)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if d := sum.Exporters["discard"]; d.Dropped != 0 || d.Failed != 0 || d.Delivered != d.Emitted {
		b.Fatalf("events lost: %+v", d)
	}
}

// benchOTelSpan records the same data as one span of the OpenTelemetry SDK
// with a batch processor that blocks rather than drops, and includes the
// drain: ForceFlush.
func benchOTelSpan(b *testing.B) {
	exp := &discardSpans{}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBlocking()))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tracer := tp.Tracer("bench")
	ctx, root := tracer.Start(context.Background(), "bench")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_, span := tracer.Start(ctx, "OpenAI", trace.WithAttributes(attribute.String("type", "llm"), attribute.String("input.q", "hello")))
		span.AddEvent("prompt", trace.WithAttributes(attribute.String("message", "hello")))
		span.SetAttributes(attribute.String("output.text", "world"))
		span.End()
	}
	root.End()
	err := tp.ForceFlush(context.Background())
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
}

func BenchmarkComponent(b *testing.B) {
	b.Run("flowtrace", benchFlowtraceComponent)
	b.Run("otel-sdk", benchOTelSpan)
}

// BenchmarkComponentVsOTel measures flowtrace and the OpenTelemetry SDK in
// the same benchmark, alternating blocks of components so that both see the
// same machine load, and reports flowtrace's cost as a ratio of the SDK's.
// Each block includes its drain (EndTracers, ForceFlush); allocations are
// counted process-wide, so the delivery goroutines' count too.
func BenchmarkComponentVsOTel(b *testing.B) {
	const block = 512
	ft := &discardExporter{}
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(ft), flowtrace.WithOverflow(flowtrace.BlockFor(time.Minute)))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = svc.Shutdown(context.Background()) }()
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(&discardSpans{}, sdktrace.WithBlocking()))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tracer := tp.Tracer("bench")

	var ftTime, otTime time.Duration
	var ftAllocs, otAllocs uint64
	var ms runtime.MemStats
	measure := func(d *time.Duration, allocs *uint64, f func()) {
		runtime.ReadMemStats(&ms)
		before := ms.Mallocs
		start := time.Now()
		f()
		*d += time.Since(start)
		runtime.ReadMemStats(&ms)
		*allocs += ms.Mallocs - before
	}
	ops := 0
	for ops < b.N {
		n := min(block, b.N-ops)
		ops += n
		measure(&ftTime, &ftAllocs, func() {
			ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "bench"})
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
			if d := sum.Exporters["discard"]; err != nil || d.Delivered != d.Emitted {
				b.Fatalf("events lost: %+v, %v", d, err)
			}
		})
		measure(&otTime, &otAllocs, func() {
			ctx, root := tracer.Start(context.Background(), "bench")
			for range n {
				_, span := tracer.Start(ctx, "OpenAI", trace.WithAttributes(attribute.String("type", "llm"), attribute.String("input.q", "hello")))
				span.AddEvent("prompt", trace.WithAttributes(attribute.String("message", "hello")))
				span.SetAttributes(attribute.String("output.text", "world"))
				span.End()
			}
			root.End()
			if err := tp.ForceFlush(context.Background()); err != nil {
				b.Fatal(err)
			}
		})
	}
	b.ReportMetric(float64(ftTime)/float64(otTime), "ns-ratio")
	b.ReportMetric(float64(ftAllocs)/float64(otAllocs), "allocs-ratio")
	b.ReportMetric(float64(ftTime.Nanoseconds())/float64(b.N), "flowtrace-ns/op")
	b.ReportMetric(float64(otTime.Nanoseconds())/float64(b.N), "otel-ns/op")
	b.ReportMetric(float64(ftAllocs)/float64(b.N), "flowtrace-allocs/op")
	b.ReportMetric(float64(otAllocs)/float64(b.N), "otel-allocs/op")
}

func BenchmarkAddLogParallel(b *testing.B) {
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(&discardExporter{}), flowtrace.WithOverflow(flowtrace.BlockFor(time.Minute)))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = svc.Shutdown(context.Background()) }()
	ctx, _ := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			svc.AddLog(ctx, flowtrace.Log{Name: "l", Message: "m"})
		}
	})
	if _, err := svc.EndTracers(ctx, nil, nil); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkDisabled(b *testing.B) {
	svc, _ := flowtrace.NewTraceService(flowtrace.WithDisabled(true))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "x"})
		svc.AddLog(cctx, flowtrace.Log{Name: "l"})
		c.End(nil)
	}
}

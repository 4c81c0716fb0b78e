package flowtrace_test

// The benchmarks of issue 12, flowtrace against the OpenTelemetry SDK doing
// the same work, side by side as sub-benchmarks named flowtrace and
// otel-sdk so that one `go test -bench` run pairs them (see
// internal/cmd/benchtable, which prints the table). Every drain — EndTracers
// for flowtrace, ForceFlush for the SDK — is inside the timed region, and
// allocations are counted process-wide, so the delivery goroutines' work
// counts too.

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/otelspans"
)

// discardSpans is the OpenTelemetry SDK's counterpart of discardExporter:
// it counts the spans the batch processor hands it.
type discardSpans struct{ n atomic.Int64 }

func (d *discardSpans) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	d.n.Add(int64(len(spans)))
	return nil
}

func (d *discardSpans) Shutdown(context.Context) error { return nil }

// endCounter is an exporter that counts the components whose end it
// received: a component is delivered when its end is.
type endCounter struct{ ends atomic.Int64 }

func (e *endCounter) Name() string { return "ends" }

func (e *endCounter) StartRun(context.Context, flowtrace.RunStart) (flowtrace.RunExporter, error) {
	return endCounterRun{e}, nil
}

func (e *endCounter) Shutdown(context.Context) error { return nil }

type endCounterRun struct{ e *endCounter }

func (endCounterRun) StartComponent(context.Context, flowtrace.ComponentStart) error { return nil }
func (endCounterRun) AddLog(context.Context, flowtrace.LogEntry) error               { return nil }
func (endCounterRun) SetOutputs(context.Context, flowtrace.Outputs) error            { return nil }
func (endCounterRun) EndRun(context.Context, flowtrace.RunEnd) error                 { return nil }

func (r endCounterRun) EndComponent(context.Context, flowtrace.ComponentEnd) error {
	r.e.ends.Add(1)
	return nil
}

// block is the number of components recorded in one run (flowtrace) or
// under one root span (SDK) before the drain.
const block = 1000

// The data of one component, prebuilt: three inputs, a log, two outputs.
var (
	benchInputs  = map[string]any{"query": "hello", "temperature": 0.2, "max_tokens": 256}
	benchOutputs = map[string]any{"text": "world", "tokens": 42}
	benchLog     = flowtrace.Log{Name: "prompt", Message: "hello"}

	otelStart = trace.WithAttributes(
		attribute.String("type", "llm"),
		attribute.String("input.query", "hello"),
		attribute.Float64("input.temperature", 0.2),
		attribute.Int("input.max_tokens", 256))
	otelEvent   = trace.WithAttributes(attribute.String("message", "hello"))
	otelOutputs = []attribute.KeyValue{attribute.String("output.text", "world"), attribute.Int("output.tokens", 42)}
)

// ftComponent records the component through flowtrace; build says
// whether its data is built in the call rather than prebuilt.
func ftComponent(svc *flowtrace.TraceService, ctx context.Context, build bool) {
	in, out, l := benchInputs, benchOutputs, benchLog
	if build {
		in = map[string]any{"query": "hello", "temperature": 0.2, "max_tokens": 256}
		out = map[string]any{"text": "world", "tokens": 42}
		l = flowtrace.Log{Name: "prompt", Message: "hello"}
	}
	cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "OpenAI", Type: "llm", Inputs: in})
	svc.AddLog(cctx, l)
	svc.SetOutputs(cctx, out)
	c.End(nil)
}

// otelComponent records the same data as a child span of the SDK.
func otelComponent(tracer trace.Tracer, ctx context.Context, build bool) {
	start, event, outs := otelStart, otelEvent, otelOutputs
	if build {
		start = trace.WithAttributes(
			attribute.String("type", "llm"),
			attribute.String("input.query", "hello"),
			attribute.Float64("input.temperature", 0.2),
			attribute.Int("input.max_tokens", 256))
		event = trace.WithAttributes(attribute.String("message", "hello"))
		outs = []attribute.KeyValue{attribute.String("output.text", "world"), attribute.Int("output.tokens", 42)}
	}
	_, span := tracer.Start(ctx, "OpenAI", start)
	span.AddEvent("prompt", event)
	span.SetAttributes(outs...)
	span.End()
}

// newLossless returns a service that blocks rather than drops, into exp.
func newLossless(b *testing.B, exp flowtrace.Exporter) *flowtrace.TraceService {
	b.Helper()
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(exp), flowtrace.WithOverflow(flowtrace.BlockFor(time.Minute)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = svc.Shutdown(context.Background()) })
	return svc
}

// newBlockingSDK returns an SDK provider whose batch processor blocks
// rather than drops, into exp.
func newBlockingSDK(b *testing.B, exp sdktrace.SpanExporter, opts ...sdktrace.TracerProviderOption) *sdktrace.TracerProvider {
	b.Helper()
	tp := sdktrace.NewTracerProvider(append([]sdktrace.TracerProviderOption{sdktrace.WithBatcher(exp, sdktrace.WithBlocking())}, opts...)...)
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

// deliveries sums what flowtrace reported delivering, across the runs of a
// benchmark (and across RunParallel's goroutines).
type deliveries struct {
	mu sync.Mutex
	d  flowtrace.Delivery
}

func (t *deliveries) add(b *testing.B, sum flowtrace.RunSummary, err error, name string) {
	if err != nil {
		b.Error(err)
	}
	d := sum.Exporters[name]
	t.mu.Lock()
	t.d.Emitted += d.Emitted
	t.d.Delivered += d.Delivered
	t.d.Dropped += d.Dropped
	t.d.Failed += d.Failed
	t.mu.Unlock()
}

// report reports the delivered fraction as a metric and fails the
// benchmark if anything was lost though lost says nothing may be.
func (t *deliveries) report(b *testing.B, lossless bool) {
	if t.d.Emitted == 0 {
		return
	}
	b.ReportMetric(float64(t.d.Delivered)/float64(t.d.Emitted), "delivered")
	if lossless && t.d.Delivered != t.d.Emitted {
		b.Fatalf("events lost: %+v", t.d)
	}
}

// serialBlocks calls f with the sizes of the blocks that make up b.N.
func serialBlocks(b *testing.B, size int, f func(n int)) {
	for i := 0; i < b.N; i += size {
		f(min(size, b.N-i))
	}
}

// parallelBlocks runs f in RunParallel's goroutines, with the sizes of the
// blocks each goroutine's share of b.N makes up: next reports whether the
// block goes on.
func parallelBlocks(b *testing.B, size int, f func(next func() bool)) {
	b.RunParallel(func(pb *testing.PB) {
		more := true
		for more {
			n := 0
			f(func() bool {
				if n == size || !more {
					return false
				}
				more = pb.Next()
				n++
				return more
			})
		}
	})
}

// BenchmarkComponent records one component per op — three inputs, a log,
// two outputs, end — in runs of 1,000 components, each run's drain timed,
// nothing lost: flowtrace blocks rather than drops and checks that every
// event was delivered (metric delivered), the SDK's batch processor blocks
// (WithBlocking) and is flushed. The build variants build the component's
// data (maps, attributes) in each call; the others prebuild it.
func BenchmarkComponent(b *testing.B) {
	for _, mode := range []struct {
		name            string
		build, parallel bool
	}{
		{"serial", false, false},
		{"parallel", false, true},
		{"build", true, false},
		{"build-parallel", true, true},
	} {
		b.Run("flowtrace/"+mode.name, func(b *testing.B) {
			svc := newLossless(b, &discardExporter{})
			var got deliveries
			run := func(next func() bool) {
				ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "bench"})
				if err != nil {
					b.Error(err)
					return
				}
				for next() {
					ftComponent(svc, ctx, mode.build)
				}
				sum, err := svc.EndTracers(ctx, nil, nil)
				got.add(b, sum, err, "discard")
			}
			b.ReportAllocs()
			b.ResetTimer()
			if mode.parallel {
				parallelBlocks(b, block, run)
			} else {
				serialBlocks(b, block, func(n int) { run(counter(n)) })
			}
			b.StopTimer()
			got.report(b, true)
		})
		b.Run("otel-sdk/"+mode.name, func(b *testing.B) {
			tp := newBlockingSDK(b, &discardSpans{})
			tracer := tp.Tracer("bench")
			run := func(next func() bool) {
				ctx, root := tracer.Start(context.Background(), "bench")
				for next() {
					otelComponent(tracer, ctx, mode.build)
				}
				root.End()
				if err := tp.ForceFlush(context.Background()); err != nil {
					b.Error(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			if mode.parallel {
				parallelBlocks(b, block, run)
			} else {
				serialBlocks(b, block, func(n int) { run(counter(n)) })
			}
		})
	}
}

// counter returns a next function for a block of n.
func counter(n int) func() bool {
	return func() bool {
		n--
		return n >= 0
	}
}

// The nodes of the small workflow BenchmarkRun10 records under its root
// component: nine, the third of them a model call.
var run10Nodes = []struct{ name, typ string }{
	{"load", "tool"}, {"retrieve", "retriever"}, {"prompt", "prompt"},
	{"OpenAI", "llm"}, {"parse", "parser"}, {"route", "router"},
	{"search", "tool"}, {"rank", "reranker"}, {"answer", "chain"},
}

var (
	run10Call = flowtrace.ModelCall{
		Model: "gpt-4o", Provider: "openai",
		Input:  []flowtrace.Message{{Role: "user", Content: "hello"}},
		Output: []flowtrace.Message{{Role: "assistant", Content: "world"}},
		Usage:  flowtrace.Usage{InputTokens: 12, OutputTokens: 3, TotalTokens: 15},
	}
	otelCall = []attribute.KeyValue{
		attribute.String("llm.model_name", "gpt-4o"), attribute.String("llm.provider", "openai"),
		attribute.String("llm.input_messages.0.message.role", "user"),
		attribute.String("llm.input_messages.0.message.content", "hello"),
		attribute.String("llm.output_messages.0.message.role", "assistant"),
		attribute.String("llm.output_messages.0.message.content", "world"),
		attribute.Int("llm.token_count.prompt", 12), attribute.Int("llm.token_count.completion", 3),
		attribute.Int("llm.token_count.total", 15),
	}
)

// ftRun10 records a run of ten components — a root component and nine
// nodes under it, each with inputs and outputs, the model call with a log
// and the call itself — and drains it.
func ftRun10(svc *flowtrace.TraceService) (flowtrace.RunSummary, error) {
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "flow", Inputs: benchInputs})
	if err != nil {
		return flowtrace.RunSummary{}, err
	}
	fctx, flow := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "flow", Type: "chain", Inputs: benchInputs})
	for _, n := range run10Nodes {
		nctx, c := svc.TraceComponent(fctx, flowtrace.ComponentInfo{Name: n.name, Type: n.typ, Inputs: benchInputs})
		if n.typ == "llm" {
			svc.AddLog(nctx, benchLog)
			svc.RecordModelCall(nctx, run10Call)
		}
		svc.SetOutputs(nctx, benchOutputs)
		c.End(nil)
	}
	svc.SetOutputs(fctx, benchOutputs)
	flow.End(nil)
	return svc.EndTracers(ctx, benchOutputs, nil)
}

// otelRun10 records the same run as a root span with ten spans under it,
// the nine nodes children of the first, and drains it.
func otelRun10(tp *sdktrace.TracerProvider, tracer trace.Tracer) error {
	ctx, root := tracer.Start(context.Background(), "flow")
	fctx, flow := tracer.Start(ctx, "flow", otelStart)
	for _, n := range run10Nodes {
		_, span := tracer.Start(fctx, n.name, otelStart)
		if n.typ == "llm" {
			span.AddEvent("prompt", otelEvent)
			span.SetAttributes(otelCall...)
		}
		span.SetAttributes(otelOutputs...)
		span.End()
	}
	flow.SetAttributes(otelOutputs...)
	flow.End()
	root.End()
	return tp.ForceFlush(context.Background())
}

// BenchmarkRun10 records one whole run of ten components per op, the shape
// of a small workflow, its drain included; nothing is lost.
func BenchmarkRun10(b *testing.B) {
	for _, parallel := range []bool{false, true} {
		mode := "serial"
		if parallel {
			mode = "parallel"
		}
		b.Run("flowtrace/"+mode, func(b *testing.B) {
			svc := newLossless(b, &discardExporter{})
			var got deliveries
			b.ReportAllocs()
			b.ResetTimer()
			if parallel {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						sum, err := ftRun10(svc)
						got.add(b, sum, err, "discard")
					}
				})
			} else {
				for i := 0; i < b.N; i++ {
					sum, err := ftRun10(svc)
					got.add(b, sum, err, "discard")
				}
			}
			b.StopTimer()
			got.report(b, true)
		})
		b.Run("otel-sdk/"+mode, func(b *testing.B) {
			tp := newBlockingSDK(b, &discardSpans{})
			tracer := tp.Tracer("bench")
			b.ReportAllocs()
			b.ResetTimer()
			if parallel {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := otelRun10(tp, tracer); err != nil {
							b.Error(err)
						}
					}
				})
			} else {
				for i := 0; i < b.N; i++ {
					if err := otelRun10(tp, tracer); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// componentSpans counts the exported spans that stand for components (not
// the runs' root spans).
type componentSpans struct{ n atomic.Int64 }

func (d *componentSpans) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	n := 0
	for _, s := range spans {
		if s.Name() != "run" {
			n++
		}
	}
	d.n.Add(int64(n))
	return nil
}

func (d *componentSpans) Shutdown(context.Context) error { return nil }

const (
	producers   = 8
	perProducer = 10_000
)

// BenchmarkThroughput has 8 goroutines each record its own run of 10,000
// components as fast as it can; one op is the whole round, its drain
// included. It reports the delivered components per second (comps/s) and
// the fraction dropped (dropped): for flowtrace, events dropped over events
// emitted as its RunSummary counts them; for the SDK, whose batch
// processor drops spans without a count, the components not exported over
// those ended. Under default the settings are the defaults (flowtrace's
// DropNewest, the SDK's default batch processor, both of which drop when
// full); under lossless flowtrace blocks (BlockFor) and the SDK's batcher
// too (WithBlocking). This is the parallel case already, so it has no
// RunParallel twin.
func BenchmarkThroughput(b *testing.B) {
	for _, lossless := range []bool{false, true} {
		mode := "default"
		if lossless {
			mode = "lossless"
		}
		b.Run("flowtrace/"+mode, func(b *testing.B) {
			exp := &endCounter{}
			opts := []flowtrace.Option{flowtrace.WithExporter(exp), flowtrace.WithErrorHandler(func(error) {})}
			if lossless {
				opts = append(opts, flowtrace.WithOverflow(flowtrace.BlockFor(time.Minute)))
			}
			svc, err := flowtrace.NewTraceService(opts...)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = svc.Shutdown(context.Background()) })
			var got deliveries
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var wg sync.WaitGroup
				for range producers {
					wg.Go(func() {
						ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "run"})
						if err != nil {
							b.Error(err)
							return
						}
						for range perProducer {
							ftComponent(svc, ctx, false)
						}
						sum, err := svc.EndTracers(ctx, nil, nil)
						got.add(b, sum, err, "ends")
					})
				}
				wg.Wait()
			}
			b.StopTimer()
			b.ReportMetric(float64(exp.ends.Load())/b.Elapsed().Seconds(), "comps/s")
			b.ReportMetric(float64(got.d.Dropped)/float64(got.d.Emitted), "dropped")
			if got.d.Emitted != got.d.Delivered+got.d.Dropped+got.d.Failed {
				b.Fatalf("events unaccounted for: %+v", got.d)
			}
			if lossless && got.d.Delivered != got.d.Emitted {
				b.Fatalf("events lost: %+v", got.d)
			}
		})
		b.Run("otel-sdk/"+mode, func(b *testing.B) {
			exp := &componentSpans{}
			var bsp []sdktrace.BatchSpanProcessorOption
			if lossless {
				bsp = append(bsp, sdktrace.WithBlocking())
			}
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, bsp...))
			b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			tracer := tp.Tracer("bench")
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var wg sync.WaitGroup
				for range producers {
					wg.Go(func() {
						ctx, root := tracer.Start(context.Background(), "run")
						for range perProducer {
							otelComponent(tracer, ctx, false)
						}
						root.End()
					})
				}
				wg.Wait()
				if err := tp.ForceFlush(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			ended := float64(b.N * producers * perProducer)
			b.ReportMetric(float64(exp.n.Load())/b.Elapsed().Seconds(), "comps/s")
			b.ReportMetric(1-float64(exp.n.Load())/ended, "dropped")
			if lossless && exp.n.Load() != int64(ended) {
				b.Fatalf("spans lost: %d of %v exported", exp.n.Load(), ended)
			}
		})
	}
}

// cpuTime returns the CPU time the process has used, every goroutine
// included: flowtrace's delivery goroutine and the SDK's batcher do part of
// the work.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkOTelBridge records the component through flowtrace and
// exporter/otelspans, and with the SDK alone building the same
// OpenInference attributes (JSON included), over the same kind of provider:
// a blocking batch processor into a discarding exporter. Each run of 1,000
// components is drained inside the timing (EndTracers then ForceFlush). It
// reports the total CPU of the process per component (cpu-ns/op), every
// goroutine included.
func BenchmarkOTelBridge(b *testing.B) {
	for _, parallel := range []bool{false, true} {
		mode := "serial"
		if parallel {
			mode = "parallel"
		}
		timed := func(b *testing.B, run func(next func() bool)) {
			b.ReportAllocs()
			b.ResetTimer()
			c0 := cpuTime()
			if parallel {
				parallelBlocks(b, block, run)
			} else {
				serialBlocks(b, block, func(n int) { run(counter(n)) })
			}
			cpu := cpuTime() - c0
			b.StopTimer()
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
		b.Run("flowtrace/"+mode, func(b *testing.B) {
			spans := &discardSpans{}
			tp := newBlockingSDK(b, spans, sdktrace.WithIDGenerator(otelspans.IDGenerator()))
			svc := newLossless(b, otelspans.New(tp))
			var got deliveries
			var comps atomic.Int64
			timed(b, func(next func() bool) {
				ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "bench", SessionID: "s1"})
				if err != nil {
					b.Error(err)
					return
				}
				for next() {
					ftComponent(svc, ctx, false)
					comps.Add(1)
				}
				sum, err := svc.EndTracers(ctx, nil, nil)
				got.add(b, sum, err, "otelspans")
				if err := tp.ForceFlush(context.Background()); err != nil {
					b.Error(err)
				}
			})
			got.report(b, true)
			if spans.n.Load() < comps.Load() {
				b.Fatalf("%d spans exported for %d components", spans.n.Load(), comps.Load())
			}
		})
		b.Run("otel-sdk/"+mode, func(b *testing.B) {
			tp := newBlockingSDK(b, &discardSpans{})
			tracer := tp.Tracer("bench")
			timed(b, func(next func() bool) {
				ctx, root := tracer.Start(context.Background(), "bench", trace.WithAttributes(
					attribute.String(otelspans.KeyRunID, "r"), attribute.String(otelspans.KeySessionID, "s1"),
					attribute.String(otelspans.KeyRunName, "bench"), attribute.String(otelspans.KeyOISpanKind, "CHAIN")))
				for next() {
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
				if err := tp.ForceFlush(context.Background()); err != nil {
					b.Error(err)
				}
			})
		})
	}
}

// callsPerOp is the number of calls one op of the no-op benchmarks makes:
// TraceComponent, AddLog, SetOutputs and End.
const callsPerOp = 4

// benchNoop measures the four calls of a component that records nothing
// in ctx, serially and in parallel, and reports the time per call.
func benchNoop(b *testing.B, svc *flowtrace.TraceService, ctx context.Context) {
	benchCalls(b, func() {
		cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "OpenAI", Type: "llm", Inputs: benchInputs})
		svc.AddLog(cctx, benchLog)
		svc.SetOutputs(cctx, benchOutputs)
		c.End(nil)
	})
}

// benchOTelNoop is benchNoop's counterpart for an OpenTelemetry tracer
// that records nothing.
func benchOTelNoop(b *testing.B, tracer trace.Tracer, ctx context.Context) {
	benchCalls(b, func() {
		_, span := tracer.Start(ctx, "OpenAI", otelStart)
		span.AddEvent("prompt", otelEvent)
		span.SetAttributes(otelOutputs...)
		span.End()
	})
}

// benchCalls runs op, the callsPerOp calls of one component, as the
// "serial" and "parallel" sub-benchmarks, and reports the time per call.
func benchCalls(b *testing.B, op func()) {
	for _, parallel := range []bool{false, true} {
		name := "serial"
		if parallel {
			name = "parallel"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			if parallel {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						op()
					}
				})
			} else {
				for b.Loop() {
					op()
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*callsPerOp), "ns/call")
		})
	}
}

// BenchmarkDisabled measures a component on a disabled service, against
// OpenTelemetry's no-op tracer provider.
func BenchmarkDisabled(b *testing.B) {
	b.Run("flowtrace", func(b *testing.B) {
		svc, err := flowtrace.NewTraceService(flowtrace.WithDisabled(true))
		if err != nil {
			b.Fatal(err)
		}
		ctx, _ := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
		benchNoop(b, svc, ctx)
	})
	b.Run("otel-sdk", func(b *testing.B) {
		benchOTelNoop(b, noop.NewTracerProvider().Tracer("bench"), context.Background())
	})
}

// BenchmarkNoRun measures a component whose ctx carries no run: counted
// and reported once per interval, recording nothing. OpenTelemetry has no
// counterpart (a span without a parent is a new trace).
func BenchmarkNoRun(b *testing.B) {
	b.Run("flowtrace", func(b *testing.B) {
		svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(&discardExporter{}), flowtrace.WithErrorHandler(func(error) {}))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = svc.Shutdown(context.Background()) })
		benchNoop(b, svc, context.Background())
	})
}

// BenchmarkUnsampled measures a component in a run the sampler left out,
// against a span under an unsampled root of the SDK (NeverSample).
func BenchmarkUnsampled(b *testing.B) {
	b.Run("flowtrace", func(b *testing.B) {
		svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(&discardExporter{}), flowtrace.WithSampler(flowtrace.NeverSample()))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = svc.Shutdown(context.Background()) })
		ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
		if err != nil {
			b.Fatal(err)
		}
		benchNoop(b, svc, ctx)
		if _, err := svc.EndTracers(ctx, nil, nil); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("otel-sdk", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()), sdktrace.WithBatcher(&discardSpans{}))
		b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		tracer := tp.Tracer("bench")
		ctx, root := tracer.Start(context.Background(), "run")
		benchOTelNoop(b, tracer, ctx)
		root.End()
	})
}

// BenchmarkSpanContext measures what OpenTelemetry instrumentation pays to
// find its parent in a flowtrace component's ctx — trace.SpanContextFromContext,
// which every tracer.Start calls — against the same call in a ctx of the
// SDK's span. A component pays nothing for being OpenTelemetry's current
// span (no allocation, no work until asked); this is the cost when asked.
func BenchmarkSpanContext(b *testing.B) {
	b.Run("flowtrace", func(b *testing.B) {
		svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(&discardExporter{}))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = svc.Shutdown(context.Background()) })
		ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
		if err != nil {
			b.Fatal(err)
		}
		cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "step"})
		benchSpanContext(b, cctx)
		c.End(nil)
		if _, err := svc.EndTracers(ctx, nil, nil); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("otel-sdk", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(&discardSpans{}))
		b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		ctx, root := tp.Tracer("bench").Start(context.Background(), "run")
		cctx, span := tp.Tracer("bench").Start(ctx, "step")
		benchSpanContext(b, cctx)
		span.End()
		root.End()
	})
}

func benchSpanContext(b *testing.B, ctx context.Context) {
	b.ReportAllocs()
	var valid int
	for b.Loop() {
		if trace.SpanContextFromContext(ctx).IsValid() {
			valid++
		}
	}
	if valid != b.N {
		b.Fatalf("%d of %d span contexts valid", valid, b.N)
	}
}

package otelspans_test

import (
	"context"
	"fmt"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/otelspans"
)

// A provider of your own: install IDGenerator so that spans carry the IDs
// flowtrace decided.
func ExampleNew() {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans), sdktrace.WithIDGenerator(otelspans.IDGenerator()))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	svc, _ := flowtrace.NewTraceService(flowtrace.WithExporter(otelspans.New(tp)))
	ctx, _ := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "support-bot"})
	_, llm := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "OpenAI", Type: "llm"})
	llm.End(nil)
	_, _ = svc.EndTracers(ctx, nil, nil)
	_ = svc.Shutdown(context.Background())

	for _, s := range spans.Ended() {
		fmt.Println(s.Name(), "parent valid:", s.Parent().IsValid())
	}
	// Output:
	// OpenAI parent valid: true
	// support-bot parent valid: false
}

// NewOTLP reads OTEL_EXPORTER_OTLP_ENDPOINT and the other standard
// variables; TraceService.Shutdown sends what is left and stops it.
func ExampleNewOTLP() {
	exp, err := otelspans.NewOTLP(context.Background(), otelspans.WithServiceName("checkout"))
	if err != nil {
		fmt.Println(err)
		return
	}
	svc, _ := flowtrace.NewTraceService(flowtrace.WithExporter(exp))
	defer func() { _ = svc.Shutdown(context.Background()) }()
	// ... svc.StartTracers, svc.TraceComponent, svc.EndTracers ...
}

// A preset reads the backend's own variables (here LANGFUSE_PUBLIC_KEY,
// LANGFUSE_SECRET_KEY and LANGFUSE_BASE_URL) when NewOTLP is called; a
// missing key is an error naming the variable.
func ExampleLangfuse() {
	exp, err := otelspans.NewOTLP(context.Background(), otelspans.Langfuse(), otelspans.WithServiceName("support-bot"))
	if err != nil {
		fmt.Println(err)
		return
	}
	svc, _ := flowtrace.NewTraceService(flowtrace.WithExporter(exp))
	defer func() { _ = svc.Shutdown(context.Background()) }()
	// ... svc.StartTracers, svc.TraceComponent, svc.EndTracers ...
}

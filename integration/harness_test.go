package integration_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowtrace/flowtrace/integration/internal/jaegertest"
)

// TestHarnessRoundTrip proves the harness on its own, without flowtrace: a
// two-span trace exported with the OpenTelemetry SDK over OTLP/HTTP comes
// back from Jaeger's query API with its service, parent link and attributes.
// When the end-to-end test fails and this one passes, the fault is in
// flowtrace or the example, not in Jaeger or its configuration.
func TestHarnessRoundTrip(t *testing.T) {
	j := jaegertest.Start(t)
	ctx := context.Background()

	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(j.OTLPEndpoint()+"/v1/traces"))
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "jaegertest-harness"))),
	)
	tracer := tp.Tracer("jaegertest")

	attrs := func(kind string) trace.SpanStartEventOption {
		return trace.WithAttributes(
			attribute.String("openinference.span.kind", kind),
			attribute.String("session.id", "session-1"),
		)
	}
	rootCtx, root := tracer.Start(ctx, "harness-root", attrs("CHAIN"))
	_, child := tracer.Start(rootCtx, "harness-child", attrs("TOOL"))
	child.AddEvent("harness-event", trace.WithAttributes(attribute.String("message", "hello")))
	child.End()
	root.End()

	shutdownCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	require.NoError(t, tp.Shutdown(shutdownCtx), "flushing the spans to Jaeger")

	traceID := root.SpanContext().TraceID().String()
	rootID := root.SpanContext().SpanID().String()
	childID := child.SpanContext().SpanID().String()

	tr := j.WaitTrace(t, traceID, func(tr *jaegertest.Trace) error {
		if len(tr.Spans) != 2 {
			return fmt.Errorf("%d spans, want 2", len(tr.Spans))
		}
		return nil
	})

	rs, ok := tr.SpanByID(rootID)
	require.True(t, ok, "root span %s missing", rootID)
	cs, ok := tr.SpanByID(childID)
	require.True(t, ok, "child span %s missing", childID)

	require.Equal(t, "harness-root", rs.OperationName)
	require.Equal(t, "harness-child", cs.OperationName)
	require.Empty(t, rs.Parent(), "root span has a parent")
	require.Equal(t, rootID, cs.Parent(), "child span's CHILD_OF reference")
	require.Equal(t, "jaegertest-harness", tr.ServiceName(rs))
	require.Equal(t, "jaegertest-harness", tr.ServiceName(cs))

	for _, tc := range []struct {
		span jaegertest.Span
		kind string
	}{{rs, "CHAIN"}, {cs, "TOOL"}} {
		kind, ok := tc.span.Tag("openinference.span.kind")
		require.True(t, ok, "span %s has no openinference.span.kind", tc.span.OperationName)
		require.Equal(t, tc.kind, kind)
		session, ok := tc.span.Tag("session.id")
		require.True(t, ok, "span %s has no session.id", tc.span.OperationName)
		require.Equal(t, "session-1", session)
	}
	require.Len(t, cs.Logs, 1, "the child's event")
	require.Contains(t, cs.Logs[0].Fields, jaegertest.Tag{Key: "message", Type: "string", Value: "hello"})
	require.Contains(t, cs.Logs[0].Fields, jaegertest.Tag{Key: "event", Type: "string", Value: "harness-event"})
}

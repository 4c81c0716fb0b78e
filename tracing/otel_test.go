package tracing_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/otelspans"
	"github.com/flowtrace/flowtrace/tracing"
)

// TestOneTraceInOpenTelemetry: two services, each exporting through the
// OpenTelemetry bridge to a provider of its own; the spans of both form
// one trace, the callee's run span under the caller's tool span.
func TestOneTraceInOpenTelemetry(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	newSvc := func() *flowtrace.TraceService {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans), sdktrace.WithIDGenerator(otelspans.IDGenerator()))
		t.Cleanup(func() { assert.NoError(t, tp.Shutdown(context.Background())) })
		svc, _ := newService(t, flowtrace.WithExporter(otelspans.New(tp)))
		return svc
	}
	svcA, svcB := newSvc(), newSvc()
	srv, done := serve(t, tracing.Middleware(svcB, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, c := svcB.TraceComponent(r.Context(), flowtrace.ComponentInfo{Name: "lookup", Type: "retriever"})
		c.End(nil)
	})))
	client := &http.Client{Transport: tracing.Transport(srv.Client().Transport)}

	ctx, err := svcA.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "agent"})
	require.NoError(t, err)
	toolCtx, tool := svcA.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "search", Type: "tool"})
	get(t, toolCtx, client, srv.URL+"/search", nil)
	wait(t, done, 1)
	tool.End(nil)
	_, err = svcA.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	settle(t, svcB)

	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans.Ended() {
		byName[s.Name()] = s
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	require.Len(t, byName, 5, "agent, search, GET %s, GET /search, lookup", host)
	agent, search, request, callee, lookup := byName["agent"], byName["search"], byName["GET "+host], byName["GET /search"], byName["lookup"]
	require.NotNil(t, agent)
	require.NotNil(t, request)
	require.NotNil(t, search)
	require.NotNil(t, callee)
	require.NotNil(t, lookup)
	trace := agent.SpanContext().TraceID()
	for _, s := range []sdktrace.ReadOnlySpan{search, request, callee, lookup} {
		assert.Equal(t, trace, s.SpanContext().TraceID(), "%s in the caller's trace", s.Name())
	}
	assert.Equal(t, agent.SpanContext().SpanID(), search.Parent().SpanID())
	assert.Equal(t, search.SpanContext().SpanID(), request.Parent().SpanID(), "the request is under the caller's tool span")
	assert.Equal(t, request.SpanContext().SpanID(), callee.Parent().SpanID(), "the callee's run span is under the caller's request")
	assert.Equal(t, callee.SpanContext().SpanID(), lookup.Parent().SpanID())
}

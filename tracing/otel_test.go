package tracing_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"

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
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{what}", func(w http.ResponseWriter, r *http.Request) {
		_, c := svcB.TraceComponent(r.Context(), flowtrace.ComponentInfo{Name: "lookup", Type: "retriever"})
		c.End(nil)
		w.WriteHeader(http.StatusBadGateway)
	})
	srv, done := serve(t, tracing.Middleware(svcB, mux))
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

	// Kinds and HTTP attributes, as otelhttp writes them.
	assert.Equal(t, oteltrace.SpanKindInternal, search.SpanKind())
	assert.Equal(t, oteltrace.SpanKindClient, request.SpanKind(), "the Transport's request is a client span")
	assert.Equal(t, oteltrace.SpanKindServer, callee.SpanKind(), "the Middleware's run is a server span")
	assert.Equal(t, oteltrace.SpanKindInternal, lookup.SpanKind())
	hostname, port, _ := strings.Cut(host, ":")
	wantPort, _ := strconv.Atoi(port)
	assert.Subset(t, request.Attributes(), []attribute.KeyValue{
		attribute.String("http.request.method", "GET"),
		attribute.String("url.full", srv.URL+"/search"),
		attribute.String("server.address", hostname),
		attribute.Int("server.port", wantPort),
		attribute.Int("http.response.status_code", http.StatusBadGateway),
		attribute.String("error.type", "502"),
	})
	assert.Equal(t, codes.Error, request.Status().Code, "a client span with a 5xx status failed")
	assert.Subset(t, callee.Attributes(), []attribute.KeyValue{
		attribute.String("http.request.method", "GET"),
		attribute.String("url.path", "/search"),
		attribute.String("server.address", host),
		attribute.String("http.route", "/{what}"),
		attribute.Int("http.response.status_code", http.StatusBadGateway),
		attribute.String("error.type", "502"),
	})
	assert.Equal(t, codes.Error, callee.Status().Code)
	for _, kv := range search.Attributes() {
		assert.NotEqual(t, attribute.Key("http.request.method"), kv.Key, "no HTTP attributes on other spans")
	}
}

// TestTransportUnderOpenTelemetrySpans: a request made under an
// OpenTelemetry span started inside a component names that span; under a
// span of another trace (a new root), the component's.
func TestTransportUnderOpenTelemetrySpans(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { assert.NoError(t, tp.Shutdown(context.Background())) })
	tracer := tp.Tracer("test")
	svc, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "tool"})
	cc, _ := flowtrace.ComponentFromContext(cctx)
	rc, _ := flowtrace.RunFromContext(ctx)

	child, span := tracer.Start(cctx, "sdk span")
	var rt capturing
	_, err = tracing.Transport(&rt, tracing.WithoutClientComponents()).RoundTrip(httptestRequest(t, child))
	require.NoError(t, err)
	assert.Contains(t, rt.traceparent, "-"+span.SpanContext().SpanID().String()+"-", "the nearest span")
	span.End()

	root, other := tracer.Start(cctx, "new root", oteltrace.WithNewRoot())
	_, err = tracing.Transport(&rt, tracing.WithoutClientComponents()).RoundTrip(httptestRequest(t, root))
	require.NoError(t, err)
	assert.Contains(t, rt.traceparent, "-"+rc.TraceIDString()+"-"+oteltrace.SpanID(cc.SpanID()).String()+"-", "the run's trace, the component's span")
	other.End()
	c.End(nil)
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
}

type capturing struct{ traceparent string }

func (c *capturing) RoundTrip(r *http.Request) (*http.Response, error) {
	c.traceparent = r.Header.Get("traceparent")
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
}

func httptestRequest(t *testing.T, ctx context.Context) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://example.test/", nil)
	require.NoError(t, err)
	return req
}

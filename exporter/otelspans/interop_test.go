package otelspans_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/otelspans"
	"github.com/flowtrace/flowtrace/tracing"
)

// assertChild asserts that child is a child of parent in one trace.
func assertChild(t *testing.T, parent, child sdktrace.ReadOnlySpan) {
	t.Helper()
	assert.Equal(t, parent.SpanContext().TraceID(), child.SpanContext().TraceID(), "%s is in %s's trace", child.Name(), parent.Name())
	assert.Equal(t, parent.SpanContext().SpanID(), child.Parent().SpanID(), "%s is a child of %s", child.Name(), parent.Name())
}

// ended is a span processor that tells when a span of a given name has
// ended: otelhttp's server span ends after the client has its response.
type ended struct {
	sdktrace.SpanProcessor
	name string
	ch   chan struct{}
}

func endOf(name string) *ended {
	return &ended{SpanProcessor: tracetest.NewSpanRecorder(), name: name, ch: make(chan struct{})}
}

func (e *ended) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.Name() == e.name {
		close(e.ch)
	}
}

func (e *ended) wait(t *testing.T) {
	t.Helper()
	select {
	case <-e.ch:
	case <-deadline(t).Done():
		t.Fatalf("span %q never ended", e.name)
	}
}

// byOperation names otelhttp's server spans after the operation, not the
// method, so that the tests can tell them apart.
var byOperation = otelhttp.WithSpanNameFormatter(func(op string, _ *http.Request) string { return op })

func TestScopeIsOpenTelemetrysCurrentSpan(t *testing.T) {
	b := newBridge(t, nil, withIDs)
	assert.False(t, trace.SpanContextFromContext(context.Background()).IsValid())

	ctx, err := b.svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "agent"})
	require.NoError(t, err)
	rc, _ := flowtrace.RunFromContext(ctx)
	sc := trace.SpanContextFromContext(ctx)
	assert.Equal(t, trace.TraceID(rc.TraceID()), sc.TraceID(), "a run's ctx: the run's trace")
	assert.Equal(t, trace.SpanID(rc.SpanID()), sc.SpanID(), "a run's ctx: the run's span")
	assert.True(t, sc.IsSampled())
	assert.False(t, sc.IsRemote())
	assert.False(t, trace.SpanFromContext(ctx).IsRecording(), "flowtrace's span records nothing through OpenTelemetry")

	cctx, comp := b.svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "search", Type: flowtrace.TypeTool})
	cc, _ := flowtrace.ComponentFromContext(cctx)
	assert.Equal(t, trace.SpanID(cc.SpanID()), trace.SpanContextFromContext(cctx).SpanID(), "a component's ctx: the component's span")
	assert.Equal(t, trace.SpanContextFromContext(cctx), trace.SpanFromContext(cctx).SpanContext())
	assert.Equal(t, otelspans.SpanContext(cctx), trace.SpanContextFromContext(cctx), "the same value otelspans.SpanContext gives")

	// A plain tracer.Start inside the component is its child.
	_, db := b.tp.Tracer("db").Start(cctx, "SELECT")
	db.End()
	comp.End(nil)
	b.end(t, ctx, nil, nil)

	assertChild(t, b.byName(t, "agent"), b.byName(t, "search"))
	assertChild(t, b.byName(t, "search"), b.byName(t, "SELECT"))
}

func TestUnsampledRunHasAnUnsampledSpanContext(t *testing.T) {
	b := newBridge(t, nil, withIDs)
	svc, err := flowtrace.NewTraceService(flowtrace.WithSampler(flowtrace.NeverSample()), flowtrace.WithExporter(otelspans.New(b.tp)))
	require.NoError(t, err)
	defer func() { require.NoError(t, svc.Shutdown(deadline(t))) }()
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "dropped"})
	require.NoError(t, err)
	sc := trace.SpanContextFromContext(ctx)
	require.True(t, sc.IsValid(), "an unsampled run still has an identity")
	assert.False(t, sc.IsSampled(), "an unsampled run's span context is unsampled")
	_, child := b.tp.Tracer("db").Start(ctx, "SELECT")
	assert.False(t, child.SpanContext().IsSampled(), "OpenTelemetry children of an unsampled run are not sampled")
	child.End()
	_, err = svc.EndTracers(ctx, nil, nil)
	require.NoError(t, err)
	assert.Empty(t, b.spans.Ended(), "nothing of the unsampled run is exported")
}

func TestOTelHTTPInsideAComponentIsOneTree(t *testing.T) {
	serverEnd := endOf("weather-api")
	b := newBridge(t, nil, withIDs, sdktrace.WithSpanProcessor(serverEnd))
	prop := propagation.TraceContext{}
	srv := httptest.NewServer(otelhttp.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}), "weather-api", otelhttp.WithTracerProvider(b.tp), otelhttp.WithPropagators(prop), byOperation))
	defer srv.Close()
	client := &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport,
		otelhttp.WithTracerProvider(b.tp), otelhttp.WithPropagators(prop),
		otelhttp.WithSpanNameFormatter(func(string, *http.Request) string { return "GET weather" }))}

	ctx, err := b.svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "agent"})
	require.NoError(t, err)
	cctx, tool := b.svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "get_weather", Type: flowtrace.TypeTool})
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	resp, err := client.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	tool.End(nil)
	b.end(t, ctx, nil, nil)
	serverEnd.wait(t)

	run, comp := b.byName(t, "agent"), b.byName(t, "get_weather")
	clientSpan, serverSpan := b.byName(t, "GET weather"), b.byName(t, "weather-api")
	assertChild(t, run, comp)
	assertChild(t, comp, clientSpan)
	assertChild(t, clientSpan, serverSpan)
	assert.Equal(t, trace.SpanKindClient, clientSpan.SpanKind())
}

func TestRunInsideOTelHTTPServerSpan(t *testing.T) {
	serverEnd := endOf("server")
	b := newBridge(t, nil, withIDs, sdktrace.WithSpanProcessor(serverEnd))
	prop := propagation.TraceContext{}
	var runCtx context.Context
	done := make(chan struct{})
	handler := tracing.Middleware(b.svc, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runCtx = r.Context()
		_, step := flowtrace.TraceComponent(r.Context(), flowtrace.ComponentInfo{Name: "plan"})
		step.End(nil)
		close(done)
	}), tracing.WithRunName(func(*http.Request) string { return "pipeline" }))
	srv := httptest.NewServer(otelhttp.NewHandler(handler, "server", otelhttp.WithTracerProvider(b.tp), otelhttp.WithPropagators(prop), byOperation))
	defer srv.Close()
	client := &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport, otelhttp.WithTracerProvider(b.tp), otelhttp.WithPropagators(prop))}

	ctx, outer := b.tp.Tracer("caller").Start(context.Background(), "caller")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/x", nil)
	require.NoError(t, err)
	resp, err := client.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	outer.End()
	<-done
	serverEnd.wait(t)
	require.NoError(t, b.svc.Shutdown(deadline(t)), "every run delivered")

	rc, _ := flowtrace.RunFromContext(runCtx)
	run, _ := b.rec.Run(rc.RunID())
	assert.False(t, run.Info.ParentRemote, "otelhttp's server span is a local parent")
	server := b.byName(t, "server")
	pipeline := b.byName(t, "pipeline")
	assertChild(t, server, pipeline)
	assertChild(t, pipeline, b.byName(t, "plan"))
	assert.Equal(t, b.byName(t, "caller").SpanContext().TraceID(), pipeline.SpanContext().TraceID(), "one trace from the caller down")
}

func TestRunUnderAUserSpanJoinsItsTrace(t *testing.T) {
	b := newBridge(t, nil, withIDs)
	ts, err := trace.ParseTraceState("vendor=opaque")
	require.NoError(t, err)
	parent := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5, 6}, TraceFlags: trace.FlagsSampled, TraceState: ts,
	})
	ctx, err := b.svc.StartTracers(trace.ContextWithSpanContext(context.Background(), parent), flowtrace.RunInfo{RunName: "job"})
	require.NoError(t, err)
	rc, _ := flowtrace.RunFromContext(ctx)
	assert.Equal(t, [16]byte(parent.TraceID()), rc.TraceID())
	assert.Equal(t, [8]byte(parent.SpanID()), rc.ParentSpanID())
	assert.Equal(t, "vendor=opaque", rc.TraceState().String(), "the parent's trace state is kept")
	assert.Equal(t, "vendor=opaque", trace.SpanContextFromContext(ctx).TraceState().String(), "and passed on")
	b.end(t, ctx, nil, nil)
	run, _ := b.rec.Run(rc.RunID())
	assert.False(t, run.Info.ParentRemote)
	job := b.byName(t, "job")
	assert.Equal(t, parent.SpanID(), job.Parent().SpanID())
	assert.Equal(t, parent.TraceID(), job.SpanContext().TraceID())

	// An unsampled OpenTelemetry parent makes an unsampled run.
	unsampled := trace.ContextWithSpanContext(context.Background(), parent.WithTraceFlags(0))
	ctx, err = b.svc.StartTracers(unsampled, flowtrace.RunInfo{RunName: "quiet"})
	require.NoError(t, err)
	rc, _ = flowtrace.RunFromContext(ctx)
	assert.False(t, rc.Sampled(), "the OpenTelemetry parent's sampling decision holds")
	b.end(t, ctx, nil, nil)

	// A remote span context (as a propagator extracts it) is a remote parent.
	ctx, err = b.svc.StartTracers(trace.ContextWithRemoteSpanContext(context.Background(), parent), flowtrace.RunInfo{RunName: "remote"})
	require.NoError(t, err)
	rc, _ = flowtrace.RunFromContext(ctx)
	b.end(t, ctx, nil, nil)
	run, _ = b.rec.Run(rc.RunID())
	assert.True(t, run.Info.ParentRemote)
}

func TestSuspendedAndResumedRunStatus(t *testing.T) {
	b := newBridge(t, nil, withIDs)
	ctx, err := b.svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "flow"})
	require.NoError(t, err)
	_, _ = b.svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "await approval"})
	cctx, cancel := context.WithTimeout(ctx, testDeadline)
	defer cancel()
	cp, _, err := b.svc.SuspendTracers(cctx, nil)
	require.NoError(t, err)
	rctx, err := b.svc.StartTracers(flowtrace.ContextWithCheckpoint(context.Background(), cp), flowtrace.RunInfo{RunName: "flow resumed"})
	require.NoError(t, err)
	b.end(t, rctx, nil, nil)

	flow, wait, resumed := b.byName(t, "flow"), b.byName(t, "await approval"), b.byName(t, "flow resumed")
	assert.Equal(t, otelspans.StatusSuspended, str(t, flow, otelspans.KeyRunStatus))
	assert.Equal(t, otelspans.StatusSuspended, str(t, wait, otelspans.KeyComponentStatus))
	assert.Equal(t, otelspans.StatusResumed, str(t, resumed, otelspans.KeyRunStatus))
	for _, s := range []sdktrace.ReadOnlySpan{flow, wait, resumed} {
		assert.Equal(t, codes.Unset, s.Status().Code, "%s: a suspension is not an error", s.Name())
	}
	assertChild(t, flow, resumed)
}

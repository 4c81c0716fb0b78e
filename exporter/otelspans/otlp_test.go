package otelspans_test

import (
	"context"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/otelspans"
)

// clearOTelEnv unsets the variables NewOTLP reads, for the test.
func clearOTelEnv(t *testing.T) {
	for _, k := range []string{
		otelspans.EnvEndpoint, otelspans.EnvTracesEndpoint, otelspans.EnvHeaders, otelspans.EnvTracesHeaders,
		otelspans.EnvCompression, otelspans.EnvTracesCompression, otelspans.EnvServiceName, otelspans.EnvResourceAttrs,
		otelspans.EnvTimeout, otelspans.EnvTracesTimeout, otelspans.EnvBSPScheduleDelay, otelspans.EnvBSPExportTimeout,
		otelspans.EnvBSPMaxQueueSize, otelspans.EnvBSPMaxExportBatch, otelspans.EnvTracesSampler, otelspans.EnvTracesSamplerArg,
	} {
		t.Setenv(k, "")
	}
}

// recordRun sends one run with one component through exp and shuts the
// service (and so the exporter's provider) down, which flushes.
func recordRun(t *testing.T, exp flowtrace.Exporter, info flowtrace.RunInfo) flowtrace.RunContext {
	t.Helper()
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(exp))
	require.NoError(t, err)
	ctx, err := svc.StartTracers(context.Background(), info)
	require.NoError(t, err)
	cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "retrieve", Type: "retriever", Inputs: map[string]any{"q": "x"}})
	svc.SetOutputs(cctx, map[string]any{"docs": 2})
	c.End(nil)
	_, err = svc.EndTracers(ctx, nil, nil)
	require.NoError(t, err)
	require.NoError(t, svc.Shutdown(deadline(t)), "Shutdown flushes and shuts the provider down")
	rc, _ := flowtrace.RunFromContext(ctx)
	return rc
}

func TestNewOTLPReadsTheEnvironmentAtEachCall(t *testing.T) {
	clearOTelEnv(t)
	r := newReceiver(t)
	t.Setenv(otelspans.EnvEndpoint, r.srv.URL+"/")
	t.Setenv(otelspans.EnvHeaders, "x-team=ai,authorization=Bearer%20abc")
	t.Setenv(otelspans.EnvTracesHeaders, "x-team=llm")
	t.Setenv(otelspans.EnvResourceAttrs, "deployment.environment=test,service.name=from-attrs")

	t.Setenv(otelspans.EnvServiceName, "svc-a")
	a, err := otelspans.NewOTLP(context.Background())
	require.NoError(t, err)
	t.Setenv(otelspans.EnvServiceName, "svc-b")
	b, err := otelspans.NewOTLP(context.Background(), otelspans.WithName("otel-b"))
	require.NoError(t, err)
	c, err := otelspans.NewOTLP(context.Background(), otelspans.WithName("otel-c"), otelspans.WithServiceName("svc-c"))
	require.NoError(t, err)

	rcA := recordRun(t, a, flowtrace.RunInfo{RunName: "a", SessionID: "sess"})
	recordRun(t, b, flowtrace.RunInfo{RunName: "b"})
	recordRun(t, c, flowtrace.RunInfo{RunName: "c"})

	reqs := r.all()
	require.NotEmpty(t, reqs)
	for _, rq := range reqs {
		assert.Equal(t, "/v1/traces", rq.path)
		assert.Equal(t, "llm", rq.header.Get("x-team"), "traces headers win over generic ones")
		assert.Equal(t, "Bearer abc", rq.header.Get("Authorization"), "values are percent-decoded")
		assert.True(t, rq.gzipped, "gzip by default")
		assert.Equal(t, "application/x-protobuf", rq.header.Get("Content-Type"))
	}
	assert.ElementsMatch(t, []string{"svc-a", "svc-b", "svc-c"}, r.resourceAttr("service.name"),
		"OTEL_SERVICE_NAME read at each call; WithServiceName wins")
	assert.Equal(t, []string{"test", "test", "test"}, r.resourceAttr("deployment.environment"))

	var run, comp span
	for _, s := range r.spans() {
		switch {
		case s.GetName() == "a":
			run = s
		case s.service == "svc-a" && s.GetName() == "retrieve":
			comp = s
		}
	}
	require.NotNil(t, run.Span, "run span received")
	require.NotNil(t, comp.Span, "component span received")
	assert.Equal(t, rcA.TraceIDString(), hex.EncodeToString(run.GetTraceId()), "NewOTLP installs IDGenerator")
	sid := rcA.SpanID()
	assert.Equal(t, sid[:], run.GetSpanId())
	assert.Equal(t, run.GetSpanId(), comp.GetParentSpanId())
	assert.Equal(t, "RETRIEVER", comp.attr(otelspans.KeyOISpanKind))
	assert.Equal(t, "sess", comp.attr(otelspans.KeySessionID))
	assert.JSONEq(t, `{"docs":2}`, comp.attr(otelspans.KeyOIOutputValue))
	assert.Equal(t, "github.com/flowtrace/flowtrace/exporter/otelspans", run.scope)
}

func TestNewOTLPTracesEndpointIsUsedAsIs(t *testing.T) {
	clearOTelEnv(t)
	r := newReceiver(t)
	t.Setenv(otelspans.EnvEndpoint, "http://127.0.0.1:1") // not used: the traces one wins
	t.Setenv(otelspans.EnvTracesEndpoint, r.srv.URL+"/custom/path")
	t.Setenv(otelspans.EnvCompression, "none")
	e, err := otelspans.NewOTLP(context.Background())
	require.NoError(t, err)
	recordRun(t, e, flowtrace.RunInfo{})
	reqs := r.all()
	require.NotEmpty(t, reqs)
	assert.Equal(t, "/custom/path", reqs[0].path)
	assert.False(t, reqs[0].gzipped)
}

func TestNewOTLPRefusesBadConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name, key, value, wantIn string
		opts                     []otelspans.Option
	}{
		{name: "endpoint not a URL", key: otelspans.EnvEndpoint, value: "http://[::1", wantIn: otelspans.EnvEndpoint},
		{name: "endpoint scheme", key: otelspans.EnvTracesEndpoint, value: "ftp://127.0.0.1/x", wantIn: otelspans.EnvTracesEndpoint},
		{name: "endpoint without host", key: otelspans.EnvEndpoint, value: "http://", wantIn: otelspans.EnvEndpoint},
		{name: "endpoint with a password, unparsable", key: otelspans.EnvEndpoint, value: "http://user:sk-secret@[::1", wantIn: otelspans.EnvEndpoint},
		{name: "endpoint option", opts: []otelspans.Option{otelspans.WithEndpointURL("localhost:4318")}, wantIn: "WithEndpointURL"},
		{name: "header without =", key: otelspans.EnvHeaders, value: "authorization", wantIn: otelspans.EnvHeaders},
		{name: "header empty key", key: otelspans.EnvTracesHeaders, value: "=sk-secret-value", wantIn: otelspans.EnvTracesHeaders},
		{name: "header bad escape", key: otelspans.EnvHeaders, value: "authorization=sk-secret%zz", wantIn: otelspans.EnvHeaders},
		{name: "compression", key: otelspans.EnvCompression, value: "brotli", wantIn: otelspans.EnvCompression},
		{name: "resource attributes", key: otelspans.EnvResourceAttrs, value: "novalue", wantIn: otelspans.EnvResourceAttrs},
		{name: "export timeout", opts: []otelspans.Option{otelspans.WithExportTimeout(-1)}, wantIn: "export timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearOTelEnv(t)
			if tc.key != "" {
				t.Setenv(tc.key, tc.value)
			}
			e, err := otelspans.NewOTLP(context.Background(), tc.opts...)
			require.Error(t, err)
			assert.Nil(t, e)
			assert.Contains(t, err.Error(), tc.wantIn, "the error names what is wrong")
			assert.NotContains(t, err.Error(), "sk-secret", "the error never prints a header's value")
		})
	}
}

// Header names are case-insensitive: an option's header replaces the
// environment's whatever the case of either, instead of both being sent
// and one of them winning at random.
func TestNewOTLPHeaderNamesAreCaseInsensitive(t *testing.T) {
	clearOTelEnv(t)
	r := newReceiver(t)
	t.Setenv(otelspans.EnvTracesEndpoint, r.srv.URL+"/v1/traces")
	t.Setenv(otelspans.EnvHeaders, "authorization=Bearer%20from-env,X-TEAM=ai")
	t.Setenv(otelspans.EnvTracesHeaders, "x-team=llm")
	e, err := otelspans.NewOTLP(context.Background(), otelspans.WithHeaders(map[string]string{"AUTHORIZATION": "Bearer from-option"}))
	require.NoError(t, err)
	recordRun(t, e, flowtrace.RunInfo{})
	reqs := r.all()
	require.NotEmpty(t, reqs)
	for _, rq := range reqs {
		assert.Equal(t, []string{"Bearer from-option"}, rq.header.Values("Authorization"))
		assert.Equal(t, []string{"llm"}, rq.header.Values("X-Team"))
	}
}

package otelspans_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/otelspans"
)

// The provider's ParentBased sampler decides once, at the root: a nested
// run of a trace the provider dropped is dropped too, never exported as an
// orphan fragment.
func TestParentBasedSamplerCoversNestedRuns(t *testing.T) {
	for name, ratio := range map[string]float64{"dropped": 0, "kept": 1} {
		t.Run(name, func(t *testing.T) {
			b := newBridge(t, nil, withIDs, sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))))
			outer, err := b.svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "outer"})
			require.NoError(t, err)
			tctx, tool := b.svc.TraceComponent(outer, flowtrace.ComponentInfo{Name: "tool"})
			inner, err := b.svc.StartTracers(tctx, flowtrace.RunInfo{RunName: "inner"})
			require.NoError(t, err)
			_, step := b.svc.TraceComponent(inner, flowtrace.ComponentInfo{Name: "inner-step"})
			step.End(nil)
			b.end(t, inner, nil, nil)
			tool.End(nil)
			b.end(t, outer, nil, nil)
			if ratio == 0 {
				assert.Empty(t, b.spans.Ended(), "nothing of a dropped trace is exported")
				return
			}
			require.Len(t, b.spans.Ended(), 4)
			assert.False(t, b.byName(t, "inner").Parent().IsRemote(), "a run nested in this process has a local parent")
		})
	}
}

func TestExportFailuresAreReportedNotLost(t *testing.T) {
	clearOTelEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "bad key", http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	var mu sync.Mutex
	var reported []error
	exp, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(srv.URL+"/v1/traces"),
		otelspans.WithErrorHandler(func(err error) {
			mu.Lock()
			reported = append(reported, err)
			mu.Unlock()
		}))
	require.NoError(t, err)
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(exp))
	require.NoError(t, err)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	_, err = svc.EndTracers(ctx, nil, nil)
	require.NoError(t, err)
	err = svc.Shutdown(deadline(t))
	require.ErrorIs(t, err, otelspans.ErrExport, "Shutdown counts the spans the backend refused")
	assert.Contains(t, err.Error(), "1 spans not exported")
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, reported, 1, "each failed export goes to the bridge's error handler")
	assert.ErrorIs(t, reported[0], otelspans.ErrExport)
}

func TestNewOTLPRefusesAProtocolItDoesNotSpeak(t *testing.T) {
	for _, key := range []string{otelspans.EnvProtocol, otelspans.EnvTracesProtocol} {
		clearOTelEnv(t)
		t.Setenv(otelspans.EnvProtocol, "")
		t.Setenv(otelspans.EnvTracesProtocol, "")
		t.Setenv(key, "grpc")
		_, err := otelspans.NewOTLP(context.Background())
		require.Error(t, err)
		assert.Contains(t, err.Error(), key)
		t.Setenv(key, "http/protobuf")
		e, err := otelspans.NewOTLP(context.Background())
		require.NoError(t, err)
		require.NoError(t, e.Shutdown(deadline(t)))
	}
}

func TestZeroExporterRefusesRunsWithoutPanicking(t *testing.T) {
	var zero otelspans.Exporter
	_, err := zero.StartRun(context.Background(), flowtrace.RunStart{RunID: "r"})
	require.Error(t, err)
	var nilExp *otelspans.Exporter
	assert.NoError(t, nilExp.Shutdown(context.Background()))
	assert.Equal(t, "otelspans", nilExp.Name())
}

func TestGenAIOnlyKeepsTheValues(t *testing.T) {
	b := newBridge(t, []otelspans.Option{otelspans.WithConventions(otelspans.GenAI)}, withIDs)
	ctx, err := b.svc.StartTracers(context.Background(), flowtrace.RunInfo{Metadata: map[string]any{"env": "prod"}})
	require.NoError(t, err)
	tctx, tool := b.svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "calc", Type: "tool", Inputs: map[string]any{"x": 2}})
	b.svc.SetOutputs(tctx, map[string]any{"y": 4})
	tool.End(nil)
	b.end(t, ctx, map[string]any{"answer": 4}, nil)
	calc := b.byName(t, "execute_tool calc")
	assert.JSONEq(t, `{"x":2}`, str(t, calc, otelspans.KeyInputs))
	assert.JSONEq(t, `{"y":4}`, str(t, calc, otelspans.KeyOutputs))
	assert.JSONEq(t, `{"x":2}`, str(t, calc, otelspans.KeyGenAIToolArguments))
	assert.JSONEq(t, `{"y":4}`, str(t, calc, otelspans.KeyGenAIToolResult))
	assert.JSONEq(t, `{"env":"prod"}`, str(t, b.byName(t, "invoke_workflow"), otelspans.KeyMetadata))
}

func TestSpanContextParentsOtherInstrumentation(t *testing.T) {
	b := newBridge(t, nil, withIDs)
	ctx, err := b.svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	cctx, c := b.svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "http-call"})
	// Another library's span, started from the component's ctx.
	_, other := b.tp.Tracer("otherlib").Start(trace.ContextWithSpanContext(cctx, otelspans.SpanContext(cctx)), "GET /x")
	other.End()
	c.End(nil)
	b.end(t, ctx, nil, nil)
	assert.Equal(t, b.byName(t, "http-call").SpanContext().SpanID(), b.byName(t, "GET /x").Parent().SpanID())
	assert.Equal(t, b.byName(t, "run").SpanContext().TraceID(), b.byName(t, "GET /x").SpanContext().TraceID())
	assert.False(t, otelspans.SpanContext(context.Background()).IsValid(), "no run, no span context")
}

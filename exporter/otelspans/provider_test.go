package otelspans_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/otelspans"
)

func TestSpanLimitsNeverDropRunIdentity(t *testing.T) {
	b := newBridge(t, nil, withIDs, sdktrace.WithSpanLimits(sdktrace.SpanLimits{
		AttributeCountLimit: 3, AttributeValueLengthLimit: 16, EventCountLimit: 1,
		AttributePerEventCountLimit: 1, LinkCountLimit: 1, AttributePerLinkCountLimit: 1,
	}))
	ctx, err := b.svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "r", SessionID: "s", UserID: "u", Metadata: map[string]any{"m": 1}})
	require.NoError(t, err)
	cctx, c := b.svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c", Type: "llm", Inputs: map[string]any{"long": "a value far longer than sixteen bytes"}})
	b.svc.AddLog(cctx, flowtrace.Log{Name: "one"})
	b.svc.AddLog(cctx, flowtrace.Log{Name: "two"})
	c.End(nil)
	b.end(t, ctx, nil, nil)
	rc, _ := flowtrace.RunFromContext(ctx)
	for _, s := range b.spans.Ended() {
		a := attrs(s)
		assert.Len(t, a, 3, "span %s: the provider's limit holds", s.Name())
		assert.Equal(t, rc.RunID()[:16], a[otelspans.KeyRunID].AsString(), "span %s: run id kept (cut to the value limit)", s.Name())
		assert.Equal(t, "s", a[otelspans.KeySessionID].AsString())
		assert.Equal(t, "u", a[otelspans.KeyUserID].AsString())
	}
	assert.Len(t, b.byName(t, "c").Events(), 1, "the provider's event limit holds")
}

func TestProviderSamplerIsHonoured(t *testing.T) {
	b := newBridge(t, nil, withIDs, sdktrace.WithSampler(sdktrace.NeverSample()))
	ctx, err := b.svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	_, c := b.svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c"})
	c.End(nil)
	b.end(t, ctx, nil, nil)
	assert.Empty(t, b.spans.Ended(), "the provider's sampler decides what is recorded")
	assert.Len(t, b.rec.Runs(), 1, "other exporters are not affected")
}

func TestShutdownFlushesButKeepsTheCallersProvider(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(spans), withIDs)
	t.Cleanup(func() { require.NoError(t, tp.Shutdown(context.Background())) })
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(otelspans.New(tp)))
	require.NoError(t, err)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "r"})
	require.NoError(t, err)
	_, err = svc.EndTracers(deadline(t), nil, nil)
	require.ErrorIs(t, err, flowtrace.ErrNoRun)
	_, err = svc.EndTracers(ctx, nil, nil)
	require.NoError(t, err)
	require.NoError(t, svc.Shutdown(deadline(t)))
	require.Len(t, spans.GetSpans(), 1, "Shutdown flushed the batch processor")

	_, s := tp.Tracer("after").Start(context.Background(), "still-works")
	s.End()
	require.NoError(t, tp.ForceFlush(deadline(t)))
	assert.Len(t, spans.GetSpans(), 2, "the provider handed to New is not shut down")
}

func TestGenAIConventions(t *testing.T) {
	for _, tc := range []struct {
		name          string
		conv          otelspans.Conventions
		wantOI, wantG bool
	}{
		{"OpenInference only (default)", 0, true, false},
		{"GenAI only", otelspans.GenAI, false, true},
		{"both", otelspans.OpenInference | otelspans.GenAI, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBridge(t, []otelspans.Option{otelspans.WithConventions(tc.conv)}, withIDs)
			ctx, err := b.svc.StartTracers(context.Background(), flowtrace.RunInfo{SessionID: "conv-1"})
			require.NoError(t, err)
			actx, agent := b.svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "planner", Type: "agent", Inputs: map[string]any{"q": 1}})
			_, tool := b.svc.TraceComponent(actx, flowtrace.ComponentInfo{Name: "calculator", Type: "tool"})
			_, llm := b.svc.TraceComponent(actx, flowtrace.ComponentInfo{Name: "model", Type: "llm"})
			llm.End(nil)
			tool.End(nil)
			agent.End(nil)
			b.end(t, ctx, nil, nil)

			agentName, toolName := "planner", "calculator"
			if tc.conv == otelspans.GenAI { // GenAI alone names spans as its conventions do
				agentName, toolName = "invoke_agent planner", "execute_tool calculator"
			}
			ag, tl, lm := attrs(b.byName(t, agentName)), attrs(b.byName(t, toolName)), attrs(b.byName(t, "model"))
			_, hasKind := ag[otelspans.KeyOISpanKind]
			_, hasInput := ag[otelspans.KeyOIInputValue]
			assert.Equal(t, tc.wantOI, hasKind)
			assert.Equal(t, tc.wantOI, hasInput)
			_, hasOp := lm[otelspans.KeyGenAIOperationName]
			assert.Equal(t, tc.wantG, hasOp)
			if tc.wantG {
				assert.Equal(t, "chat", lm[otelspans.KeyGenAIOperationName].AsString())
				assert.Equal(t, "invoke_agent", ag[otelspans.KeyGenAIOperationName].AsString())
				assert.Equal(t, "planner", ag[otelspans.KeyGenAIAgentName].AsString())
				assert.Equal(t, "execute_tool", tl[otelspans.KeyGenAIOperationName].AsString())
				assert.Equal(t, "calculator", tl[otelspans.KeyGenAIToolName].AsString())
				assert.Equal(t, "conv-1", tl[otelspans.KeyGenAIConversationID].AsString())
			}
			assert.Equal(t, "conv-1", tl[otelspans.KeySessionID].AsString(), "identity keys are always written")
		})
	}
}

func TestNilProviderRecordsNothing(t *testing.T) {
	e := otelspans.New(nil)
	assert.Equal(t, "otelspans", e.Name())
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(e))
	require.NoError(t, err)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	sum, err := svc.EndTracers(ctx, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, uint64(0), sum.Exporters["otelspans"].Failed)
	require.NoError(t, svc.Shutdown(deadline(t)))
	require.NoError(t, e.Shutdown(deadline(t)), "Shutdown may be called twice")
}

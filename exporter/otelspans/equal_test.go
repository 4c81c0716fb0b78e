package otelspans_test

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/otelspans"
	"github.com/flowtrace/flowtrace/tracing"
)

// wireSpan is a span as a receiver decoded it, with its resource and
// scope.
type wireSpan struct {
	resource    *resourcepb.Resource
	resSchema   string
	scope       *commonpb.InstrumentationScope
	scopeSchema string
	span        *tracepb.Span
}

// bySpanID returns every span r received, by span ID, failing on a span ID
// seen twice.
func (r *receiver) bySpanID(t *testing.T) map[string]wireSpan {
	t.Helper()
	out := make(map[string]wireSpan)
	for _, rq := range r.all() {
		for _, rs := range rq.req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					id := hex.EncodeToString(s.GetSpanId())
					require.NotContains(t, out, id, "span %s received twice", id)
					out[id] = wireSpan{rs.GetResource(), rs.GetSchemaUrl(), ss.GetScope(), ss.GetSchemaUrl(), s}
				}
			}
		}
	}
	return out
}

func sortKVs(kvs []*commonpb.KeyValue) {
	slices.SortStableFunc(kvs, func(a, b *commonpb.KeyValue) int { return cmp.Compare(a.GetKey(), b.GetKey()) })
}

// normalized returns a copy of s with its attributes (and its events',
// links' and resource's) sorted by key: their order is not part of OTLP's
// meaning.
func normalized(s wireSpan) wireSpan {
	s.span = proto.Clone(s.span).(*tracepb.Span)
	sortKVs(s.span.Attributes)
	for _, e := range s.span.Events {
		sortKVs(e.Attributes)
	}
	for _, l := range s.span.Links {
		sortKVs(l.Attributes)
	}
	s.resource = proto.Clone(s.resource).(*resourcepb.Resource)
	sortKVs(s.resource.Attributes)
	return s
}

// TestNewOTLPSpansEqualTheSDKs: the same runs, delivered by one service to
// NewOTLP and to New over the SDK with its own OTLP/HTTP exporter, reach
// two receivers as the same spans, field by field: IDs, parents, names,
// kinds, times, status, attributes, events, links, flags, trace state,
// resource and scope.
func TestNewOTLPSpansEqualTheSDKs(t *testing.T) {
	for name, conv := range map[string]otelspans.Conventions{
		"OpenInference": otelspans.OpenInference, "GenAI": otelspans.GenAI, "both": otelspans.OpenInference | otelspans.GenAI,
	} {
		t.Run(name, func(t *testing.T) {
			clearOTelEnv(t)
			t.Setenv(otelspans.EnvResourceAttrs, "deployment.environment=test,team=ai")
			t.Setenv(otelspans.EnvCaptureMessageContent, "true")
			ours, theirs := newReceiver(t), newReceiver(t)

			exp, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(ours.srv.URL+"/v1/traces"),
				otelspans.WithServiceName("equal"), otelspans.WithConventions(conv),
				otelspans.WithErrorHandler(func(err error) { t.Errorf("NewOTLP reported %v", err) }))
			require.NoError(t, err)

			// The SDK path, with the resource NewOTLP builds.
			env, err := resource.New(context.Background(), resource.WithTelemetrySDK(), resource.WithFromEnv())
			require.NoError(t, err)
			res, err := resource.Merge(env, resource.NewSchemaless(attribute.String("service.name", "equal")))
			require.NoError(t, err)
			sdkExp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(theirs.srv.URL+"/v1/traces"))
			require.NoError(t, err)
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(sdkExp), sdktrace.WithResource(res), withIDs)
			t.Cleanup(func() { require.NoError(t, tp.Shutdown(deadline(t))) })

			svc, err := flowtrace.NewTraceService(
				flowtrace.WithExporter(exp),
				flowtrace.WithExporter(otelspans.New(tp, otelspans.WithName("sdk"), otelspans.WithConventions(conv))),
				flowtrace.WithOverflow(flowtrace.BlockFor(time.Minute)),
				flowtrace.WithErrorHandler(func(err error) { t.Errorf("flowtrace reported %v", err) }))
			require.NoError(t, err)
			recordEverything(t, svc)
			require.NoError(t, svc.Shutdown(deadline(t)))
			require.NoError(t, tp.ForceFlush(deadline(t)))

			got, want := ours.bySpanID(t), theirs.bySpanID(t)
			require.Len(t, want, 21, "the SDK path received every span")
			require.Len(t, got, len(want), "NewOTLP sent as many spans as the SDK")
			for id, w := range want {
				g, ok := got[id]
				if !assert.True(t, ok, "span %s (%s) sent by NewOTLP", id, w.span.GetName()) {
					continue
				}
				g, w = normalized(g), normalized(w)
				assert.True(t, proto.Equal(w.span, g.span), "span %s differs:\nSDK:     %s\nNewOTLP: %s", w.span.GetName(), prototext.Format(w.span), prototext.Format(g.span))
				assert.True(t, proto.Equal(w.resource, g.resource), "resource differs:\nSDK:     %s\nNewOTLP: %s", prototext.Format(w.resource), prototext.Format(g.resource))
				assert.Equal(t, w.resSchema, g.resSchema, "resource schema URL")
				assert.True(t, proto.Equal(w.scope, g.scope), "scope differs:\nSDK:     %s\nNewOTLP: %s", prototext.Format(w.scope), prototext.Format(g.scope))
				assert.Equal(t, w.scopeSchema, g.scopeSchema, "scope schema URL")
			}
			st := exp.SpanStats()
			assert.Equal(t, otelspans.SpanStats{Ended: 21, Exported: 21}, st)
		})
	}
}

// recordEverything records runs of every shape the bridge writes: model
// calls, logs, inputs and outputs set late, errors, a nested run, a run
// under a remote parent, HTTP server and client spans, a suspended run
// and its resumption; 21 spans.
func recordEverything(t *testing.T, svc *flowtrace.TraceService) {
	t.Helper()
	endCtx := func(ctx context.Context, out map[string]any, err error) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, testDeadline)
		defer cancel()
		_, e := svc.EndTracers(c, out, err)
		require.NoError(t, e)
	}

	// A chat run: a model call, a tool that fails, logs, late inputs and outputs, a nested run.
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{
		RunName: "chat", ProjectName: "proj", SessionID: "sess-1", UserID: "user-1",
		Tags: []string{"prod", "beta"}, Inputs: map[string]any{"q": "2+2?"}, Metadata: map[string]any{"env": "prod", "n": 3},
	})
	require.NoError(t, err)
	svc.SetInputs(ctx, map[string]any{"late": true})
	lctx, llm := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "gpt", Type: flowtrace.TypeLLM, Inputs: map[string]any{"prompt": "2+2?"}})
	svc.SetInputs(lctx, map[string]any{"stream": true})
	svc.AddLog(lctx, flowtrace.Log{Name: "prompt", Message: "2+2?", Type: "text"})
	svc.AddLog(lctx, flowtrace.Log{Message: map[string]any{"k": []any{1, "two", 3.5}}})
	svc.RecordModelCall(lctx, flowtrace.ModelCall{
		Model: "gpt-4o", Provider: "openai", ResponseModel: "gpt-4o-2021", ResponseID: "resp-1",
		Parameters: map[string]any{"temperature": 0.1, "max_tokens": 64, "stop": []any{"\n"}, "n": 2},
		Input:      []flowtrace.Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "2+2?"}},
		Output:     []flowtrace.Message{{Role: "assistant", ToolCalls: []flowtrace.ToolCall{{ID: "call-1", Name: "calc", Arguments: `{"e":"2+2"}`}}}},
		Usage:      flowtrace.Usage{InputTokens: 20, OutputTokens: 5, TotalTokens: 25, CacheReadTokens: 8, ReasoningTokens: 2},
		Cost:       0.00042, FinishReasons: []string{"tool_calls"}, TimeToFirstChunk: 250 * time.Millisecond, Stream: true,
	})
	svc.SetOutputs(lctx, map[string]any{"text": "4"})
	svc.SetOutputs(lctx, map[string]any{"tokens": 5})
	llm.End(nil)
	tctx, tool := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "calc", Type: "tool", Inputs: map[string]any{"e": "2+2"}})
	inner, err := svc.StartTracers(tctx, flowtrace.RunInfo{RunName: "inner flow", Inputs: map[string]any{"x": 1}})
	require.NoError(t, err)
	sctx, step := svc.TraceComponent(inner, flowtrace.ComponentInfo{Name: "inner step", Type: "retriever"})
	_, leaf := svc.TraceComponent(sctx, flowtrace.ComponentInfo{Name: "leaf", Type: "embedding"})
	leaf.End(nil)
	svc.SetOutputs(sctx, map[string]any{"docs": []any{"a", "b"}})
	step.End(nil)
	endCtx(inner, map[string]any{"y": 2}, nil)
	svc.SetOutputs(tctx, map[string]any{"result": 4})
	tool.End(errors.New("calc: overflow"))
	_, agent := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "planner", Type: "agent", Metadata: map[string]any{"v": 1.5}})
	agent.End(nil)
	endCtx(ctx, map[string]any{"answer": 4}, nil)

	// A run continuing a remote caller, failing.
	remote := flowtrace.RemoteParent{
		TraceID: [16]byte{0xab, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
		SpanID:  [8]byte{0xcd, 1, 2, 3, 4, 5, 6, 7}, Sampled: true, Random: true, RunID: "caller-run",
	}
	rctx, err := svc.StartTracers(flowtrace.ContextWithRemoteParent(context.Background(), remote), flowtrace.RunInfo{RunName: "remote child"})
	require.NoError(t, err)
	_, c := svc.TraceComponent(rctx, flowtrace.ComponentInfo{Name: "work"})
	c.End(nil)
	endCtx(rctx, nil, errors.New("remote child failed"))

	// An HTTP request: a server span with a client span and a failed call.
	hctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "GET /items/7", Metadata: map[string]any{
		tracing.KeyMethod: "GET", tracing.KeyPath: "/items/7", tracing.KeyHost: "shop.test",
	}})
	require.NoError(t, err)
	_, fetch := svc.TraceComponent(hctx, flowtrace.ComponentInfo{Name: "GET db.test", Type: tracing.TypeHTTPClient, Metadata: map[string]any{
		tracing.KeyMethod: "GET", tracing.KeyURL: "http://db.test:8080/q", tracing.KeyHost: "db.test", tracing.KeyPort: 8080,
	}})
	fetch.End(nil)
	_, down := svc.TraceComponent(hctx, flowtrace.ComponentInfo{Name: "POST down.test", Metadata: map[string]any{tracing.KeyMethod: "POST"}})
	down.End(errors.New("dial tcp: connection refused"))
	endCtx(hctx, map[string]any{tracing.KeyStatusCode: 500, tracing.KeyRoute: "/items/{id}"}, errors.New("tracing: server error status: 500"))

	// A run suspended with a component open, then resumed.
	fctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "flow"})
	require.NoError(t, err)
	_, _ = svc.TraceComponent(fctx, flowtrace.ComponentInfo{Name: "await approval"})
	sc, cancel := context.WithTimeout(fctx, testDeadline)
	defer cancel()
	cp, _, err := svc.SuspendTracers(sc, map[string]any{"waiting": true})
	require.NoError(t, err)
	resumed, err := svc.StartTracers(flowtrace.ContextWithCheckpoint(context.Background(), cp), flowtrace.RunInfo{RunName: "flow resumed"})
	require.NoError(t, err)
	_, approve := svc.TraceComponent(resumed, flowtrace.ComponentInfo{Name: "approve"})
	approve.End(nil)
	endCtx(resumed, nil, nil)

	// Many small runs, so that more than one batch may be sent.
	for i := range 5 {
		ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "small", Metadata: map[string]any{"i": i}})
		require.NoError(t, err)
		endCtx(ctx, nil, nil)
	}
}

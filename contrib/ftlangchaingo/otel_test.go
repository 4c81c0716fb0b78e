package ftlangchaingo_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/chains"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/otelspans"
)

// TestOpenTelemetrySpans checks that a model call recorded in two parts —
// the request at its start, the answer at its end — makes one span with
// both, as OpenInference and GenAI backends (Jaeger, Phoenix) read them.
func TestOpenTelemetrySpans(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	t.Cleanup(func() { require.NoError(t, tp.Shutdown(context.Background())) })
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(
		otelspans.New(tp, otelspans.WithConventions(otelspans.OpenInference|otelspans.GenAI))))
	require.NoError(t, err)
	t.Cleanup(func() { _ = svc.Shutdown(deadline(t)) }) // if the test stops early
	e := newEngine(svc)
	run(t, svc, "rag", func(ctx context.Context) (string, error) {
		return chains.Run(ctx, e.rag, "capital of France?", chains.WithCallback(e.h))
	})
	require.NoError(t, svc.Shutdown(deadline(t)), "Shutdown ends the spans still buffered")

	spans := map[string]map[attribute.Key]attribute.Value{}
	for _, s := range sr.Ended() {
		attrs := map[attribute.Key]attribute.Value{}
		for _, kv := range s.Attributes() {
			attrs[kv.Key] = kv.Value
		}
		spans[s.Name()] = attrs
	}
	require.Len(t, spans, 3, "the run, the retriever and the model call")
	assert.Equal(t, "RETRIEVER", spans["retriever"]["openinference.span.kind"].AsString())
	llm := spans["fake-stream"]
	assert.Equal(t, "LLM", llm["openinference.span.kind"].AsString())
	assert.Equal(t, "fake-stream", llm["llm.model_name"].AsString())
	assert.Equal(t, "fake", llm["llm.provider"].AsString())
	assert.Equal(t, int64(40), llm["llm.token_count.prompt"].AsInt64())
	assert.Equal(t, int64(6), llm["llm.token_count.completion"].AsInt64())
	assert.Equal(t, int64(46), llm["llm.token_count.total"].AsInt64())
	assert.Equal(t, "user", llm["llm.input_messages.0.message.role"].AsString())
	assert.Contains(t, llm["llm.input_messages.0.message.content"].AsString(), "Paris is the capital of France.")
	assert.Equal(t, "assistant", llm["llm.output_messages.0.message.role"].AsString())
	assert.Equal(t, ragAnswer, llm["llm.output_messages.0.message.content"].AsString())
	assert.Equal(t, int64(40), llm["gen_ai.usage.input_tokens"].AsInt64())
	assert.Equal(t, []string{"stop"}, llm["gen_ai.response.finish_reasons"].AsStringSlice())
	assert.Positive(t, llm["gen_ai.response.time_to_first_chunk"].AsFloat64())
}

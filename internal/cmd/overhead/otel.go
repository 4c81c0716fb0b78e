package main

import (
	"context"
	"encoding/json"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// startOTel serves the two services traced with plain OpenTelemetry, as a
// user without flowtrace would: otelhttp on both servers and on A's client,
// the SDK's batch processor with its defaults, otlptracehttp with gzip to
// the collector, and by hand the OpenInference attributes flowtrace writes
// for the same run (span kinds, identity, inputs and outputs as JSON, the
// model call's llm.* keys, the planner's log as an event). The spans per
// request match flowtrace's: A's server span (the run), planner,
// search-tool, the client span of the call to B, answer; B's server span,
// vector-search.
func startOTel(ctx context.Context, collectorURL string, conns int) (*stack, error) {
	s := &stack{}
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	newProvider := func(name string) (*sdktrace.TracerProvider, error) {
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(collectorURL), otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
		if err != nil {
			return nil, err
		}
		res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithAttributes(attribute.String("service.name", name)))
		if err != nil {
			return nil, err
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
		s.tracing = append(s.tracing, tp.Shutdown)
		return tp, nil
	}
	tpA, err := newProvider("overhead-a")
	if err != nil {
		return s, err
	}
	tpB, err := newProvider("overhead-b")
	if err != nil {
		return s, err
	}
	err = s.serveBoth(
		otelhttp.NewHandler(otelSearch(tpB.Tracer("overhead")), "search-service", otelhttp.WithTracerProvider(tpB), otelhttp.WithPropagators(prop)),
		func(client *http.Client, bURL string) http.Handler {
			return otelhttp.NewHandler(otelAsk(tpA.Tracer("overhead"), client, bURL), "answer-question", otelhttp.WithTracerProvider(tpA), otelhttp.WithPropagators(prop))
		},
		func(rt http.RoundTripper) http.RoundTripper {
			return otelhttp.NewTransport(rt, otelhttp.WithTracerProvider(tpA), otelhttp.WithPropagators(prop))
		},
		conns)
	return s, err
}

// jsonAttr is a value as OpenInference wants it: JSON text.
func jsonAttr(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// inputAttrs and outputAttrs are OpenInference's input.value and
// output.value with their mime types.
func inputAttrs(v any) []attribute.KeyValue {
	return []attribute.KeyValue{attribute.String("input.value", jsonAttr(v)), attribute.String("input.mime_type", "application/json")}
}

func outputAttrs(v any) []attribute.KeyValue {
	return []attribute.KeyValue{attribute.String("output.value", jsonAttr(v)), attribute.String("output.mime_type", "application/json")}
}

// identity is what flowtrace writes first on every span of a run.
func identity(session, user string) []attribute.KeyValue {
	return []attribute.KeyValue{attribute.String("session.id", session), attribute.String("user.id", user)}
}

func otelAsk(tracer trace.Tracer, client *http.Client, bURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		query := r.URL.Query()
		q, session, user := query.Get("q"), query.Get("session"), query.Get("user")
		id := identity(session, user)
		run := trace.SpanFromContext(ctx) // otelhttp's server span is the run
		run.SetAttributes(id...)
		run.SetAttributes(attribute.String("openinference.span.kind", "CHAIN"))

		pctx, planner := tracer.Start(ctx, "planner", trace.WithAttributes(id...),
			trace.WithAttributes(attribute.String("openinference.span.kind", "AGENT")), trace.WithAttributes(inputAttrs(map[string]any{"question": q})...))
		plan := makePlan(q)
		planner.AddEvent("plan", trace.WithAttributes(attribute.String("message", plan[0]), attribute.String("type", "text")))

		tctx, tool := tracer.Start(pctx, "search-tool", trace.WithAttributes(id...),
			trace.WithAttributes(attribute.String("openinference.span.kind", "TOOL")), trace.WithAttributes(inputAttrs(map[string]any{"query": q})...))
		docs, err := search(tctx, client, bURL, q)
		if err != nil {
			tool.RecordError(err)
			tool.End()
			planner.End()
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		tool.SetAttributes(outputAttrs(map[string]any{"documents": docs})...)
		tool.End()

		_, llm := tracer.Start(pctx, "answer", trace.WithAttributes(id...),
			trace.WithAttributes(attribute.String("openinference.span.kind", "LLM")), trace.WithAttributes(inputAttrs(map[string]any{"question": q, "documents": docs})...))
		answer := makeAnswer(q, docs)
		llm.SetAttributes(
			attribute.String("llm.model_name", modelName),
			attribute.String("llm.provider", modelProvider),
			attribute.String("llm.input_messages.0.message.role", "user"),
			attribute.String("llm.input_messages.0.message.content", q),
			attribute.String("llm.output_messages.0.message.role", "assistant"),
			attribute.String("llm.output_messages.0.message.content", answer),
			attribute.Int64("llm.token_count.prompt", promptTokens),
			attribute.Int64("llm.token_count.completion", completionTokens),
			attribute.Int64("llm.token_count.total", promptTokens+completionTokens),
		)
		llm.SetAttributes(outputAttrs(map[string]any{"text": answer})...)
		llm.End()
		planner.End()

		run.SetAttributes(outputAttrs(map[string]any{"answer": answer})...)
		writeJSON(w, answerBody{Question: q, Plan: plan, Docs: docs, Answer: answer, Tokens: promptTokens + completionTokens})
	})
}

func otelSearch(tracer trace.Tracer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		q := r.URL.Query().Get("q")
		trace.SpanFromContext(ctx).SetAttributes(attribute.String("openinference.span.kind", "CHAIN"))
		_, retr := tracer.Start(ctx, "vector-search", trace.WithAttributes(attribute.String("openinference.span.kind", "RETRIEVER")),
			trace.WithAttributes(inputAttrs(map[string]any{"query": q})...))
		docs := findDocs(q)
		retr.SetAttributes(outputAttrs(map[string]any{"documents": docs})...)
		retr.End()
		writeJSON(w, docs)
	})
}

package main

import (
	"context"
	"net/http"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/otelspans"
	"github.com/flowtrace/flowtrace/tracing"
)

// startFlowtrace serves the two services traced the way flowtrace's README
// shows: tracing.Middleware on both, three components and a model call in
// A, a call through tracing.Transport to B, which continues the run with a
// component of its own; each service exports with otelspans.NewOTLP, gzip
// on, to the collector. Spans per request: A's run, planner, search-tool,
// the client component of the call to B, answer; B's run, vector-search.
func startFlowtrace(ctx context.Context, collectorURL string, conns int) (*stack, error) {
	s := &stack{}
	newService := func(name string) (*flowtrace.TraceService, error) {
		exp, err := otelspans.NewOTLP(ctx, otelspans.WithServiceName(name), otelspans.WithEndpointURL(collectorURL),
			otelspans.WithGzip(true), otelspans.WithErrorHandler(s.reported.add))
		if err != nil {
			return nil, err
		}
		svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(exp), flowtrace.WithErrorHandler(s.reported.add))
		if err != nil {
			return nil, err
		}
		s.tracing = append(s.tracing, svc.Shutdown)
		return svc, nil
	}
	svcA, err := newService("overhead-a")
	if err != nil {
		return s, err
	}
	svcB, err := newService("overhead-b")
	if err != nil {
		return s, err
	}
	runInfo := tracing.WithRunInfo(func(r *http.Request) flowtrace.RunInfo {
		q := r.URL.Query()
		return flowtrace.RunInfo{RunName: "answer-question", SessionID: q.Get("session"), UserID: q.Get("user")}
	})
	err = s.serveBoth(
		tracing.Middleware(svcB, flowtraceSearch(), tracing.WithRunName(func(*http.Request) string { return "search-service" })),
		func(client *http.Client, bURL string) http.Handler {
			return tracing.Middleware(svcA, flowtraceAsk(client, bURL), runInfo)
		},
		func(rt http.RoundTripper) http.RoundTripper { return tracing.Transport(rt) },
		conns)
	return s, err
}

func flowtraceAsk(client *http.Client, bURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		q := r.URL.Query().Get("q")

		pctx, planner := flowtrace.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "planner", Type: flowtrace.TypeAgent, Inputs: map[string]any{"question": q}})
		plan := makePlan(q)
		flowtrace.AddLog(pctx, flowtrace.Log{Name: "plan", Message: plan[0], Type: "text"})

		tctx, tool := flowtrace.TraceComponent(pctx, flowtrace.ComponentInfo{Name: "search-tool", Type: flowtrace.TypeTool, Inputs: map[string]any{"query": q}})
		docs, err := search(tctx, client, bURL, q)
		if err == nil {
			flowtrace.SetOutputs(tctx, map[string]any{"documents": docs})
		}
		tool.End(err)
		if err != nil {
			planner.End(err)
			tracing.SetError(ctx, err)
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}

		lctx, llm := flowtrace.TraceComponent(pctx, flowtrace.ComponentInfo{Name: "answer", Type: flowtrace.TypeLLM, Inputs: map[string]any{"question": q, "documents": docs}})
		answer := makeAnswer(q, docs)
		flowtrace.RecordModelCall(lctx, flowtrace.ModelCall{
			Model: modelName, Provider: modelProvider,
			Input:  []flowtrace.Message{{Role: "user", Content: q}},
			Output: []flowtrace.Message{{Role: "assistant", Content: answer}},
			Usage:  flowtrace.Usage{InputTokens: promptTokens, OutputTokens: completionTokens, TotalTokens: promptTokens + completionTokens},
		})
		flowtrace.SetOutputs(lctx, map[string]any{"text": answer})
		llm.End(nil)
		planner.End(nil)

		flowtrace.SetOutputs(ctx, map[string]any{"answer": answer})
		writeJSON(w, answerBody{Question: q, Plan: plan, Docs: docs, Answer: answer, Tokens: promptTokens + completionTokens})
	})
}

func flowtraceSearch() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("q")
		rctx, retr := flowtrace.TraceComponent(r.Context(), flowtrace.ComponentInfo{Name: "vector-search", Type: flowtrace.TypeRetriever, Inputs: map[string]any{"query": q}})
		docs := findDocs(q)
		flowtrace.SetOutputs(rctx, map[string]any{"documents": docs})
		retr.End(nil)
		writeJSON(w, docs)
	})
}

package tracing_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
	"github.com/flowtrace/flowtrace/tracing"
)

// Service A runs a workflow whose tool component calls service B. B's
// Middleware continues A's run: B's run is a child run in A's trace.
func Example() {
	shutdown := func(svc *flowtrace.TraceService) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = svc.Shutdown(ctx)
	}
	recA, recB := memory.New(), memory.New()
	svcA, _ := flowtrace.NewTraceService(flowtrace.WithExporter(recA))
	defer shutdown(svcA)
	svcB, _ := flowtrace.NewTraceService(flowtrace.WithExporter(recB))
	defer shutdown(svcB)

	// Service B: each request is served inside a run.
	quote := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, lookup := svcB.TraceComponent(r.Context(), flowtrace.ComponentInfo{Name: "lookup", Type: "retriever"})
		svcB.SetOutputs(ctx, map[string]any{"price": 42})
		lookup.End(nil)
		_, _ = io.WriteString(w, "42")
	})
	serviceB := httptest.NewServer(tracing.Middleware(svcB, quote))
	defer serviceB.Close()

	// Service A: its client propagates the run of each request's ctx.
	client := &http.Client{Transport: tracing.Transport(serviceB.Client().Transport)}
	ctx, _ := svcA.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "pricing agent"})
	toolCtx, tool := svcA.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "get quote", Type: "tool"})
	req, _ := http.NewRequestWithContext(toolCtx, http.MethodGet, serviceB.URL+"/quote", nil)
	resp, err := client.Do(req)
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	tool.End(nil)
	sum, _ := svcA.EndTracers(ctx, map[string]any{"price": string(body)}, nil)

	// B's Middleware ended its run before the response completed, without
	// waiting for its delivery: B's Shutdown (or WithDeliveryWait) does.
	serviceB.Close()
	shutdown(svcB)
	caller, _ := recA.Run(sum.RunID)
	callee := recB.Runs()[0]
	fmt.Println("callee run:", callee.Info.RunName, callee.Outputs[tracing.KeyStatusCode])
	fmt.Println("same trace:", callee.Info.TraceID == caller.Info.TraceID)
	fmt.Println("parent run is the caller's:", callee.Info.ParentRunID == caller.Info.RunID)
	var request memory.Component // the client component the Transport recorded
	for _, c := range caller.Components {
		if c.Info.Type == tracing.TypeHTTPClient {
			request = c
		}
	}
	fmt.Println("under the caller's request:", callee.Info.ParentSpanID == request.Info.SpanID)
	fmt.Println("the request under the tool:", request.Info.ParentID == caller.Components[0].Info.ComponentID)
	fmt.Println("request:", request.Info.Name[:4], request.Outputs[tracing.KeyStatusCode])
	// Output:
	// callee run: GET /quote 200
	// same trace: true
	// parent run is the caller's: true
	// under the caller's request: true
	// the request under the tool: true
	// request: GET  200
}

// Records logged with a ctx inside a run also become the logs of its
// innermost scope, masked like any recorded value.
func ExampleSlogHandler() {
	rec := memory.New()
	svc, _ := flowtrace.NewTraceService(flowtrace.WithExporter(rec))
	defer func() { _ = svc.Shutdown(context.Background()) }()

	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	logger := slog.New(tracing.SlogHandler(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: noTime}), svc))

	logger.Info("no run: passed through only")
	ctx, _ := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "login"})
	cctx, check := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "check password"})
	logger.WarnContext(cctx, "retrying", "user", "ada", "password", "hunter2", slog.Group("attempt", "n", 2))
	check.End(nil)
	sum, _ := svc.EndTracers(ctx, nil, nil)

	run, _ := rec.Run(sum.RunID)
	l := run.Components[0].Logs[0]
	fmt.Println(l.Type, l.Name, l.Message)
	// Output:
	// level=INFO msg="no run: passed through only"
	// level=WARN msg=retrying user=ada password=hunter2 attempt.n=2
	// WARN retrying map[attempt:map[n:2] password:***** user:ada]
}

// A handler that fails says why: the run ends with the cause, joined with
// the status error the Middleware records.
func ExampleSetError() {
	rec := memory.New()
	svc, _ := flowtrace.NewTraceService(flowtrace.WithExporter(rec))
	srv := httptest.NewServer(tracing.Middleware(svc, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tracing.SetError(r.Context(), errors.New("inventory service: connection refused"))
		w.WriteHeader(http.StatusBadGateway)
	})))
	resp, err := srv.Client().Get(srv.URL + "/order")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	srv.Close()
	_ = svc.Shutdown(context.Background()) // delivers the run

	run := rec.Runs()[0]
	fmt.Println(run.Err)
	fmt.Println(errors.Is(run.Err, tracing.ErrServerError))
	// Output:
	// inventory service: connection refused
	// tracing: server error status: 502 Bad Gateway
	// true
}

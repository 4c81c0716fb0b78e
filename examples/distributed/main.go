// Command distributed runs one workflow across two HTTP services and shows
// it as one trace.
//
// Service A answers questions: each request is a run (tracing.Middleware)
// with a planner, a search tool and an LLM call. The search tool calls
// service B over HTTP through tracing.Transport; B continues the caller's
// run as a child run, in the caller's trace, under the tool's span.
//
// With OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
// set, both services export through OTLP/HTTP, as services "distributed-a"
// and "distributed-b"; otherwise each prints its runs as trees. Either way
// it prints one line per run: "run <run ID> trace <trace ID>".
//
//	go run ./examples/distributed -runs 3
//	OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 go run ./examples/distributed
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/console"
	"github.com/flowtrace/flowtrace/exporter/otelspans"
	"github.com/flowtrace/flowtrace/tracing"
)

func main() {
	runs := flag.Int("runs", 3, "number of workflows to run through service A")
	flag.Parse()
	if err := run(*runs); err != nil {
		fmt.Fprintln(os.Stderr, "distributed:", err)
		os.Exit(1)
	}
}

// newService returns a TraceService exporting through OTLP when the
// environment names an endpoint, to the console otherwise.
func newService(ctx context.Context, name string) (*flowtrace.TraceService, error) {
	var exp flowtrace.Exporter = console.New(os.Stdout)
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" {
		o, err := otelspans.NewOTLP(ctx, otelspans.WithServiceName(name))
		if err != nil {
			return nil, err
		}
		exp = o
	}
	return flowtrace.NewTraceService(
		flowtrace.WithExporter(exp),
		flowtrace.WithErrorHandler(func(err error) { fmt.Fprintf(os.Stderr, "%s: flowtrace: %v\n", name, err) }),
	)
}

// server serves h on a free loopback port until Shutdown.
type server struct {
	http *http.Server
	url  string
	done chan error
}

func serve(h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{http: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}, url: "http://" + ln.Addr().String(), done: make(chan error, 1)}
	go func() { s.done <- s.http.Serve(ln) }()
	return s, nil
}

func (s *server) shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	if serveErr := <-s.done; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}

func run(runs int) error {
	ctx := context.Background()
	svcA, err := newService(ctx, "distributed-a")
	if err != nil {
		return err
	}
	svcB, err := newService(ctx, "distributed-b")
	if err != nil {
		return errors.Join(err, svcA.Shutdown(ctx))
	}

	// Service B: a search service. Its Middleware continues the caller's run.
	b, err := serve(tracing.Middleware(svcB, searchHandler(),
		tracing.WithRunName(func(*http.Request) string { return "search-service" })))
	if err != nil {
		return err
	}
	// Service A: each request is a run of the question-answering workflow.
	client := &http.Client{Transport: tracing.Transport(nil, tracing.WithIdentityBaggage()), Timeout: 10 * time.Second}
	a, err := serve(tracing.Middleware(svcA, askHandler(client, b.url),
		tracing.WithRunInfo(func(r *http.Request) flowtrace.RunInfo {
			return flowtrace.RunInfo{RunName: "answer-question", SessionID: r.URL.Query().Get("session"), UserID: r.URL.Query().Get("user")}
		})))
	if err != nil {
		return err
	}

	// The load: runs questions at once, from a client outside any run.
	var wg sync.WaitGroup
	errs := make([]error, runs)
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = ask(a.url, i)
		}()
	}
	wg.Wait()

	// Teardown: servers first (their handlers have ended their runs), then
	// the services, which flush and shut their exporters down.
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	errs = append(errs, a.shutdown(sctx), b.shutdown(sctx), svcA.Shutdown(sctx), svcB.Shutdown(sctx))
	return errors.Join(errs...)
}

// ask sends question i to service A and prints the run it made.
func ask(base string, i int) error {
	q := url.Values{"q": {fmt.Sprintf("question %d", i)}, "session": {fmt.Sprintf("session-%d", i%2)}, "user": {"user-1"}}
	resp, err := http.Get(base + "/ask?" + q.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out struct {
		RunID, TraceID, Answer string
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return fmt.Errorf("ask %d: %s: %w", i, resp.Status, err)
	}
	fmt.Printf("run %s trace %s\n", out.RunID, out.TraceID)
	return nil
}

// askHandler is service A's workflow: plan, search (through service B),
// answer. Its steps record through the run the Middleware put in the
// request's ctx, so the handler needs no service of its own.
func askHandler(client *http.Client, searchURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		question := r.URL.Query().Get("q")

		pctx, plan := flowtrace.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "planner", Type: "agent", Inputs: map[string]any{"question": question}})
		flowtrace.AddLog(pctx, flowtrace.Log{Name: "plan", Message: "search, then answer", Type: "text"})

		tctx, tool := flowtrace.TraceComponent(pctx, flowtrace.ComponentInfo{Name: "search-tool", Type: "tool", Inputs: map[string]any{"query": question}})
		docs, err := search(tctx, client, searchURL, question)
		if err == nil {
			flowtrace.SetOutputs(tctx, map[string]any{"documents": docs})
		}
		tool.End(err)

		lctx, llm := flowtrace.TraceComponent(pctx, flowtrace.ComponentInfo{Name: "answer", Type: flowtrace.TypeLLM,
			Inputs: map[string]any{"question": question, "context": docs}, Metadata: map[string]any{"model": "fake-llm"}})
		answer := fmt.Sprintf("%d documents say: it depends", len(docs))
		flowtrace.SetOutputs(lctx, map[string]any{"text": answer})
		flowtrace.RecordModelCall(lctx, flowtrace.ModelCall{ // model and usage, as llm.* attributes in Jaeger
			Model: "fake-llm", Provider: "example",
			Input:  []flowtrace.Message{{Role: "user", Content: question}},
			Output: []flowtrace.Message{{Role: "assistant", Content: answer}},
			Usage:  flowtrace.Usage{InputTokens: 42, OutputTokens: 7, TotalTokens: 49},
		})
		llm.End(nil)
		plan.End(err)

		flowtrace.SetOutputs(ctx, map[string]any{"answer": answer})
		rc, _ := flowtrace.RunFromContext(ctx)
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"RunID": rc.RunID(), "TraceID": rc.TraceIDString(), "Answer": answer})
	})
}

// search calls service B with ctx, which carries the tool's scope: the
// Transport sends its trace and span in traceparent.
func search(ctx context.Context, client *http.Client, base, query string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/search?"+url.Values{"q": {query}}.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, fmt.Errorf("search: %s", resp.Status)
	}
	var docs []string
	return docs, json.NewDecoder(resp.Body).Decode(&docs)
}

// searchHandler is service B: a retriever and a reranker, traced in the
// run its Middleware continued.
func searchHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		q := r.URL.Query().Get("q")
		rctx, retr := flowtrace.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "vector-search", Type: "retriever", Inputs: map[string]any{"query": q}})
		docs := []string{"doc about " + q, "another doc", "a third doc"}
		flowtrace.SetOutputs(rctx, map[string]any{"documents": docs})
		retr.End(nil)
		kctx, rerank := flowtrace.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "rerank", Type: "reranker"})
		docs = docs[:2]
		flowtrace.SetOutputs(kctx, map[string]any{"documents": docs})
		rerank.End(nil)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(docs)
	})
}

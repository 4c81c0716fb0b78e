// Command workflow runs a small DAG engine (package dag) traced with
// flowtrace: several runs of a 10-node support flow at once, printed as
// trees when they end, then a flow that pauses for a human approval and is
// resumed from its checkpoint — by another goroutine, as another process
// would — as a second run in the same trace and session.
//
// The support flow's shape, which BenchmarkRun10 mirrors:
//
//	load-profile ──┐
//	load-history ──┼──> build-prompt ──> answer (llm) ──┬──> moderate ───────┐
//	search ──> rerank ┘                                 └──> extract-actions ─┴──> format ──> save
//
// ten components under the run: three independent starts in parallel, a
// join, the LLM call (a fake model that takes a few milliseconds and
// records its token usage), two parallel checks, a join and a last step.
//
//	go run ./examples/workflow
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/examples/workflow/dag"
	"github.com/flowtrace/flowtrace/exporter/console"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "workflow:", err)
		os.Exit(1)
	}
}

func run() error {
	svc, err := flowtrace.NewTraceService(
		flowtrace.WithExporter(console.New(os.Stdout)),
		flowtrace.WithErrorHandler(func(err error) { fmt.Fprintln(os.Stderr, "flowtrace:", err) }),
	)
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := svc.Shutdown(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "shutdown:", err)
		}
	}()
	eng := dag.NewEngine(svc)
	ctx := context.Background()

	support, err := supportFlow()
	if err != nil {
		return err
	}
	// Several runs at once: each one's nodes land on its own run.
	questions := []string{"Where is my order?", "How do I reset my password?", "Cancel my subscription"}
	var wg sync.WaitGroup
	errs := make([]error, len(questions)+1)
	for i, q := range questions {
		wg.Go(func() {
			_, errs[i] = eng.Run(ctx, support, flowtrace.RunInfo{UserID: fmt.Sprintf("u%d", i), SessionID: fmt.Sprintf("s%d", i)},
				map[string]any{"question": q})
		})
	}

	// Pause and resume: the checkpoint crosses to the resuming goroutine
	// as bytes, as it would through a database to another process.
	refund, err := refundFlow()
	if err != nil {
		return err
	}
	saved := make(chan []byte, 1)
	wg.Go(func() {
		res, err := eng.Run(ctx, refund, flowtrace.RunInfo{UserID: "u9", SessionID: "s9"}, map[string]any{"order": "A-1001", "amount": 480})
		if err != nil || res.Checkpoint == nil {
			close(saved)
			errs[len(questions)] = errors.Join(err, errors.New("refund flow did not pause"))
			return
		}
		b, err := json.Marshal(res.Checkpoint)
		if err != nil {
			close(saved)
			errs[len(questions)] = err
			return
		}
		saved <- b
	})
	var resumeErr error
	wg.Go(func() {
		b, ok := <-saved
		if !ok {
			return
		}
		var cp dag.Checkpoint
		if resumeErr = json.Unmarshal(b, &cp); resumeErr != nil {
			return
		}
		// Hours later, a human approves.
		_, resumeErr = eng.Resume(ctx, refund, &cp, map[string]any{"approved": true, "by": "alice"})
	})
	wg.Wait()
	return errors.Join(append(errs, resumeErr)...)
}

// supportFlow is the 10-node flow drawn in the package comment.
func supportFlow() (*dag.Graph, error) {
	step := func(out map[string]any) func(context.Context, map[string]any) (map[string]any, error) {
		return func(context.Context, map[string]any) (map[string]any, error) { return out, nil }
	}
	return dag.New("support",
		dag.Node{Name: "load-profile", Type: flowtrace.TypeRetriever, Run: step(map[string]any{"plan": "pro"})},
		dag.Node{Name: "load-history", Type: flowtrace.TypeRetriever, Run: step(map[string]any{"tickets": 2})},
		dag.Node{Name: "search", Type: flowtrace.TypeRetriever, Run: step(map[string]any{"documents": []string{"faq-3", "faq-9", "policy-1"}})},
		dag.Node{Name: "rerank", Type: flowtrace.TypeReranker, Deps: []string{"search"}, Run: step(map[string]any{"documents": []string{"faq-9"}})},
		dag.Node{Name: "build-prompt", Type: flowtrace.TypePrompt, Deps: []string{"load-profile", "load-history", "rerank"},
			Run: func(_ context.Context, in map[string]any) (map[string]any, error) {
				return map[string]any{"prompt": fmt.Sprintf("Using faq-9, answer: %v", in["question"])}, nil
			}},
		dag.Node{Name: "answer", Type: flowtrace.TypeLLM, Deps: []string{"build-prompt"}, Run: fakeModel},
		dag.Node{Name: "moderate", Type: flowtrace.TypeGuardrail, Deps: []string{"answer"},
			Run: func(_ context.Context, in map[string]any) (map[string]any, error) {
				return map[string]any{"flagged": false, "text": in["answer"].(map[string]any)["text"]}, nil
			}},
		dag.Node{Name: "extract-actions", Type: flowtrace.TypeTool, Deps: []string{"answer"}, Run: step(map[string]any{"actions": []string{}})},
		dag.Node{Name: "format", Type: flowtrace.TypeChain, Deps: []string{"moderate", "extract-actions"},
			Run: func(_ context.Context, in map[string]any) (map[string]any, error) {
				return map[string]any{"reply": in["moderate"].(map[string]any)["text"]}, nil
			}},
		dag.Node{Name: "save", Type: flowtrace.TypeTool, Deps: []string{"format"}, Run: step(map[string]any{"saved": true})},
	)
}

// fakeModel is the LLM call: it waits a little (or until ctx is done,
// like a real client), then records the call — model, messages and token
// usage — through ctx, its component's: node code needs no service.
func fakeModel(ctx context.Context, in map[string]any) (map[string]any, error) {
	prompt, _ := in["build-prompt"].(map[string]any)["prompt"].(string)
	select {
	case <-time.After(5 * time.Millisecond):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	answer := "Here is what the FAQ says about " + strings.ToLower(strings.TrimPrefix(prompt, "Using faq-9, answer: "))
	flowtrace.RecordModelCall(ctx, flowtrace.ModelCall{
		Model: "fake-gpt", Provider: "example",
		Input:  []flowtrace.Message{{Role: "user", Content: prompt}},
		Output: []flowtrace.Message{{Role: "assistant", Content: answer}},
		Usage:  flowtrace.Usage{InputTokens: int64(len(prompt) / 4), OutputTokens: int64(len(answer) / 4), TotalTokens: int64(len(prompt)/4 + len(answer)/4)},
	})
	return map[string]any{"text": answer}, nil
}

// refundFlow pauses at "approve" until a human decides.
//
//	check-order ──> approve (human) ──> refund ──> notify
//	audit-log
func refundFlow() (*dag.Graph, error) {
	return dag.New("refund",
		dag.Node{Name: "check-order", Type: flowtrace.TypeTool, Run: func(_ context.Context, in map[string]any) (map[string]any, error) {
			return map[string]any{"order": in["order"], "refundable": true}, nil
		}},
		dag.Node{Name: "audit-log", Type: flowtrace.TypeTool, Run: func(context.Context, map[string]any) (map[string]any, error) {
			return map[string]any{"logged": true}, nil
		}},
		dag.Node{Name: "approve", Type: "human", Deps: []string{"check-order"}, Run: func(_ context.Context, in map[string]any) (map[string]any, error) {
			decision, ok := in[dag.ResumeKey].(map[string]any)
			if !ok {
				return nil, dag.Pause(fmt.Sprintf("refund of %v needs a human approval", in["amount"]))
			}
			return decision, nil
		}},
		dag.Node{Name: "refund", Type: flowtrace.TypeTool, Deps: []string{"approve"}, Run: func(_ context.Context, in map[string]any) (map[string]any, error) {
			if in["approve"].(map[string]any)["approved"] != true {
				return map[string]any{"refunded": 0}, nil
			}
			return map[string]any{"refunded": in["amount"]}, nil
		}},
		dag.Node{Name: "notify", Type: flowtrace.TypeTool, Deps: []string{"refund"}, Run: func(context.Context, map[string]any) (map[string]any, error) {
			return map[string]any{"sent": true}, nil
		}},
	)
}

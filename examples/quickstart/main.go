// Command quickstart runs a few concurrent runs of a small simulated agent
// workflow and prints each run as a tree when it ends. One run pauses inside
// its LLM call while another starts and finishes: each run's records still
// land on its own run.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/console"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run() error {
	rec := memory.New()
	svc, err := flowtrace.NewTraceService(
		flowtrace.WithExporter(console.New(os.Stdout)),
		flowtrace.WithExporter(rec),
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

	// The first run pauses inside its LLM call until the second has finished.
	// pause is also called when the first run returns, so that the second
	// never waits for a run that failed before reaching its LLM call.
	llmPaused := make(chan struct{})
	pause := sync.OnceFunc(func() { close(llmPaused) })
	secondDone := make(chan struct{})
	questions := []struct {
		user, question string
		pause          bool
	}{
		{"u1", "What is the capital of France?", true},
		{"u2", "Summarise the refund policy", false},
		{"u3", "Weather in Lyon tomorrow?", false},
	}

	var wg sync.WaitGroup
	errs := make([]error, len(questions))
	for i, q := range questions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 1 {
				<-llmPaused // start while run 0 is paused
				defer close(secondDone)
			}
			hooks := agentHooks{}
			if q.pause {
				defer pause()
				hooks.beforeLLM = func() { pause(); <-secondDone }
			}
			errs[i] = agent(svc, q.user, q.question, hooks)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}

	// Every run's records are on that run alone.
	for _, r := range rec.Runs() {
		for _, c := range r.Components {
			if c.Info.RunID != r.Info.RunID {
				return fmt.Errorf("component %s of run %s landed on run %s", c.Info.Name, r.Info.RunID, c.Info.RunID)
			}
		}
	}
	fmt.Printf("%d runs recorded, each on its own trace.\n", len(rec.Runs()))
	return nil
}

type agentHooks struct{ beforeLLM func() }

// agent is a tiny agent: retrieve documents, ask an LLM, maybe call a tool.
// It starts and ends the run, so it holds the service; the steps inside
// record through their ctx alone.
func agent(svc *flowtrace.TraceService, user, question string, hooks agentHooks) error {
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{
		RunName: "support-bot", UserID: user, SessionID: "session-" + user,
		Metadata: map[string]any{"api_key": "sk-live-123", "model": "gpt-x"}, // the key is masked
	})
	if err != nil {
		return err
	}
	docs := retrieve(ctx, question)
	answer, runErr := ask(ctx, question, docs, hooks)
	_, err = svc.EndTracers(ctx, map[string]any{"answer": answer}, runErr)
	return err
}

// retrieve is a step: it has the run's ctx, not the service.
func retrieve(ctx context.Context, question string) []string {
	ctx, _ = flowtrace.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "retriever", Type: "retriever", Inputs: map[string]any{"query": question}})
	docs := []string{"doc-17", "doc-42"}
	flowtrace.SetOutputs(ctx, map[string]any{"documents": docs})
	flowtrace.EndComponent(ctx, nil)
	return docs
}

// ask is the LLM step, which may call a tool.
func ask(ctx context.Context, question string, docs []string, hooks agentHooks) (string, error) {
	ctx, _ = flowtrace.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "OpenAI", Type: flowtrace.TypeLLM, Inputs: map[string]any{"question": question, "context": docs}})
	flowtrace.AddLog(ctx, flowtrace.Log{Name: "prompt", Message: "Answer using the documents: " + question, Type: "text"})
	if hooks.beforeLLM != nil {
		hooks.beforeLLM() // the LLM takes its time; other runs go on meanwhile
	}
	answer := "I don't know"
	var runErr error
	switch {
	case strings.Contains(question, "France"):
		answer = "Paris"
	case strings.Contains(question, "Weather"):
		tctx, _ := flowtrace.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "weather-api", Type: "tool", Inputs: map[string]any{"city": "Lyon"}})
		toolErr := errors.New("weather service unavailable")
		flowtrace.AddLog(tctx, flowtrace.Log{Name: "http", Message: map[string]any{"status": 503}, Type: "object"})
		flowtrace.EndComponent(tctx, toolErr)
		runErr = toolErr
	default:
		answer = "Refunds within 30 days."
	}
	flowtrace.SetOutputs(ctx, map[string]any{"text": answer, "chars": len(answer)})
	// The model call as a record: model, messages and token usage show on
	// the component's line and, through otelspans, as llm.* attributes.
	flowtrace.RecordModelCall(ctx, flowtrace.ModelCall{
		Model: "gpt-4o-mini", Provider: "openai",
		Parameters: map[string]any{"temperature": 0.2, "max_tokens": 256},
		Input:      []flowtrace.Message{{Role: "user", Content: question}},
		Output:     []flowtrace.Message{{Role: "assistant", Content: answer}},
		Usage:      flowtrace.Usage{InputTokens: int64(40 + len(question)/4), OutputTokens: int64(1 + len(answer)/4), TotalTokens: int64(41 + len(question)/4 + len(answer)/4)},
	})
	flowtrace.EndComponent(ctx, nil)
	return answer, runErr
}

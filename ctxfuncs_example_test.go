package flowtrace_test

import (
	"context"
	"fmt"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

// search is node code: it has its ctx, not the service, and records
// through the run the ctx carries. Called where no run was started, it
// records nothing, silently.
func search(ctx context.Context, query string) []string {
	ctx, _ = flowtrace.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "search", Type: flowtrace.TypeRetriever, Inputs: map[string]any{"query": query}})
	docs := []string{"faq-3", "faq-9"}
	flowtrace.AddLog(ctx, flowtrace.Log{Name: "index", Message: "faq"})
	flowtrace.SetOutputs(ctx, map[string]any{"documents": docs})
	flowtrace.EndComponent(ctx, nil)
	return docs
}

// The service starts and ends the run; code inside it records with the
// ctx alone.
func ExampleTraceComponent() {
	rec := memory.New()
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(rec))
	if err != nil {
		panic(err)
	}
	defer shutdown(svc)

	search(context.Background(), "untraced") // no run: nothing recorded, nothing reported

	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "support-bot"})
	if err != nil {
		panic(err)
	}
	docs := search(ctx, "refunds")
	sum, err := svc.EndTracers(ctx, map[string]any{"documents": docs}, nil)
	if err != nil {
		panic(err)
	}
	run, _ := rec.Run(sum.RunID)
	fmt.Print(run.Tree())
	fmt.Println(rec.Len(), "run recorded")
	// Output:
	// support-bot ok
	//   search (retriever) ok
	// 1 run recorded
}

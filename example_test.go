package flowtrace_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

// A run with one component, recorded in memory. EndTracers returns once the
// run has reached every exporter, so the recorder can be read at once.
func Example() {
	rec := memory.New()
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(rec))
	if err != nil {
		panic(err)
	}
	defer shutdown(svc)

	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "support-bot", UserID: "u1"})
	if err != nil {
		panic(err)
	}
	cctx, llm := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "OpenAI", Type: "llm",
		Inputs: map[string]any{"question": "capital of France?", "api_key": "sk-123"}})
	svc.AddLog(cctx, flowtrace.Log{Name: "prompt", Message: "Answer briefly: capital of France?", Type: "text"})
	svc.SetOutputs(cctx, map[string]any{"text": "Paris"})
	llm.End(nil)
	sum, err := svc.EndTracers(ctx, map[string]any{"answer": "Paris"}, nil)
	if err != nil {
		panic(err)
	}

	fmt.Printf("%d component(s), memory: %+v\n", sum.Components, sum.Exporters["memory"])
	run, _ := rec.Run(sum.RunID)
	c := run.Components[0]
	fmt.Println(run.Info.RunName, run.Info.UserID, run.Outputs)
	fmt.Println(c.Info.Name, c.Info.Inputs, c.Outputs, c.Ended)
	// Output:
	// 1 component(s), memory: {Emitted:6 Delivered:6 Dropped:0 Failed:0}
	// support-bot u1 map[answer:Paris]
	// OpenAI map[api_key:***** question:capital of France?] map[text:Paris] true
}

// A run started inside a component of another run is nested: it records
// the run and the component it was started in, as when a flow is used as a
// tool of another flow.
func ExampleTraceService_StartTracers_nested() {
	rec := memory.New()
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(rec))
	if err != nil {
		panic(err)
	}
	defer shutdown(svc)

	ctx, _ := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunID: "outer"})
	tctx, tool := svc.TraceComponent(ctx, flowtrace.ComponentInfo{ID: "tool-1", Name: "sub-flow", Type: "tool"})
	inner, _ := svc.StartTracers(tctx, flowtrace.RunInfo{RunID: "inner"})
	sum, _ := svc.EndTracers(inner, nil, nil)
	tool.End(nil)
	_, _ = svc.EndTracers(ctx, nil, nil)

	run, _ := rec.Run(sum.RunID)
	fmt.Println(run.Info.RunID, "in", run.Info.ParentRunID, "/", run.Info.ParentComponentID)
	// Output:
	// inner in outer / tool-1
}

// Components still open when their run ends are closed with
// ErrComponentNotEnded, so exporters always see a closed tree.
func ExampleTraceService_EndTracers() {
	rec := memory.New()
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(rec))
	if err != nil {
		panic(err)
	}
	defer shutdown(svc)

	ctx, _ := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "forgotten"}) // never ended
	sum, err := svc.EndTracers(ctx, nil, errors.New("user cancelled"))
	if err != nil {
		panic(err)
	}

	run, _ := rec.Run(sum.RunID)
	c := run.Components[0]
	fmt.Println(run.Err)
	fmt.Println(c.Info.Name, c.Ended, errors.Is(c.Err, flowtrace.ErrComponentNotEnded))
	// Output:
	// user cancelled
	// forgotten true true
}

// With the service disabled (here by option; FLOWTRACE_DISABLED=true does
// the same), every call is a no-op and the workflow code stays unchanged.
func ExampleWithDisabled() {
	svc, err := flowtrace.NewTraceService(flowtrace.WithDisabled(true))
	if err != nil {
		panic(err)
	}
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	_, comp := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "step"})
	comp.End(nil)
	sum, _ := svc.EndTracers(ctx, nil, nil)
	_, traced := flowtrace.RunFromContext(ctx)
	fmt.Println(err, traced, sum.Exporters == nil)
	// Output:
	// <nil> false true
}

func shutdown(svc *flowtrace.TraceService) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := svc.Shutdown(ctx); err != nil {
		fmt.Println("shutdown:", err)
	}
}

package memory_test

import (
	"context"
	"fmt"
	"time"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

func Example() {
	rec := memory.New()
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(rec))
	if err != nil {
		panic(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = svc.Shutdown(ctx)
	}()

	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "support-bot"})
	if err != nil {
		panic(err)
	}
	cctx, llm := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "OpenAI", Type: "llm"})
	svc.AddLog(cctx, flowtrace.Log{Name: "prompt", Message: "capital of France?"})
	svc.SetOutputs(cctx, map[string]any{"text": "Paris"})
	llm.End(nil)
	sum, err := svc.EndTracers(ctx, map[string]any{"answer": "Paris"}, nil)
	if err != nil {
		panic(err)
	}

	// EndTracers returned once the run was delivered: it is all there.
	run, _ := rec.Run(sum.RunID)
	c := run.Components[0]
	fmt.Println(run.Info.RunName, run.Ended, run.Outputs)
	fmt.Println(c.Info.Name, c.Logs[0].Message, c.Outputs, c.Ended, c.Err)
	// Output:
	// support-bot true map[answer:Paris]
	// OpenAI capital of France? map[text:Paris] true <nil>
}

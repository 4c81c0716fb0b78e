package ftlangchaingo_test

import (
	"context"
	"fmt"

	"github.com/tmc/langchaingo/agents"
	"github.com/tmc/langchaingo/chains"
	"github.com/tmc/langchaingo/tools"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/contrib/ftlangchaingo"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

func ExampleNewHandler() {
	rec := memory.New()
	svc, _ := flowtrace.NewTraceService(flowtrace.WithExporter(rec))
	defer svc.Shutdown(context.Background())

	// Built once, shared by every run. With a real model:
	// openai.New(openai.WithCallback(h.WithModel("openai", "gpt-4o"))).
	h := ftlangchaingo.NewHandler(svc)
	llm := &fakeModel{CallbacksHandler: h.WithModel("fake", "fake-model")}
	ts := []tools.Tool{searchTool{CallbacksHandler: h}}
	agent := agents.NewExecutor(agents.NewOneShotAgent(llm, ts, agents.WithCallbacksHandler(h)), agents.WithCallbacksHandler(h))

	// Each run: nothing but StartTracers and EndTracers around the call.
	ctx, _ := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "agent"})
	answer, err := chains.Run(ctx, agent, "what is six times seven?")
	_, _ = svc.EndTracers(ctx, map[string]any{"answer": answer}, err)

	fmt.Println(answer)
	fmt.Print(rec.Runs()[0].Tree())
	// Output:
	// 42
	// agent ok
	//   chain (chain) ok
	//     chain (chain) ok
	//       fake-model (llm) ok model=fake-model tokens=20/5
	//     tool (tool) ok
	//     chain (chain) ok
	//       fake-model (llm) ok model=fake-model tokens=30/4
}

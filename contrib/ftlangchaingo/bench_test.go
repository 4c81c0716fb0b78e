package ftlangchaingo_test

import (
	"context"
	"testing"

	"github.com/tmc/langchaingo/agents"
	"github.com/tmc/langchaingo/chains"
	"github.com/tmc/langchaingo/tools"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/contrib/ftlangchaingo"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

// BenchmarkAgentRun measures a whole agent run (two model calls, a tool,
// three chains) with and without the Handler, to show what tracing adds.
func BenchmarkAgentRun(b *testing.B) {
	rec := memory.New()
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(rec))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = svc.Shutdown(context.Background()) })
	agent := func(h *ftlangchaingo.Handler) *agents.Executor {
		model := &fakeModel{}
		ts := []tools.Tool{searchTool{CallbacksHandler: noopHandler{}}}
		opts := []agents.Option{}
		if h != nil {
			model.CallbacksHandler = h.WithModel("fake", "fake-model")
			ts = []tools.Tool{searchTool{CallbacksHandler: h}}
			opts = append(opts, agents.WithCallbacksHandler(h))
		}
		return agents.NewExecutor(agents.NewOneShotAgent(model, ts, opts...), opts...)
	}
	for _, bc := range []struct {
		name  string
		agent *agents.Executor
	}{{"untraced", agent(nil)}, {"traced", agent(ftlangchaingo.NewHandler(svc))}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				ctx, _ := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "agent"})
				if _, err := chains.Run(ctx, bc.agent, "what is six times seven?"); err != nil {
					b.Fatal(err)
				}
				if _, err := svc.EndTracers(ctx, nil, nil); err != nil {
					b.Fatal(err)
				}
				if i%1000 == 999 {
					rec.Reset()
				}
			}
		})
	}
}

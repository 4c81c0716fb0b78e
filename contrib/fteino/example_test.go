package fteino_test

import (
	"context"
	"fmt"

	"github.com/cloudwego/eino/compose"
	"github.com/cloudwego/eino/flow/agent"
	"github.com/cloudwego/eino/flow/agent/react"
	"github.com/cloudwego/eino/schema"
	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/contrib/fteino"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

// A ReAct agent's run: one handler for every run, passed with the call.
func Example() {
	mem := memory.New()
	svc, _ := flowtrace.NewTraceService(flowtrace.WithExporter(mem))
	defer svc.Shutdown(context.Background())
	bot, _ := react.NewAgent(context.Background(), &react.AgentConfig{
		ToolCallingModel: fakeModel{},
		ToolsConfig:      compose.ToolsNodeConfig{Tools: []toolBase{weatherTool{}}},
	})
	h := fteino.NewHandler()

	ctx, _ := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunID: "r1", RunName: "weather"})
	msg, err := bot.Generate(ctx, []*schema.Message{schema.UserMessage("weather in Paris")},
		agent.WithComposeOptions(compose.WithCallbacks(h)))
	_, _ = svc.EndTracers(ctx, map[string]any{"answer": msg.Content}, err)

	run, _ := mem.Run("r1")
	fmt.Print(run.Tree())
	// Output:
	// weather ok
	//   ReActAgent (chain) ok
	//     ChatModel (llm) ok model=fake-gpt tokens=10/1
	//     Tools (chain) ok
	//       weather (tool) ok
	//     ChatModel (llm) ok model=fake-gpt tokens=30/5
}

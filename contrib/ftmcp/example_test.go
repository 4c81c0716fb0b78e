package ftmcp_test

import (
	"context"
	"fmt"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/contrib/ftmcp"
	"github.com/flowtrace/flowtrace/exporter/memory"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// An agent's run calls a tool on an MCP server; the server's run for the
// call continues it: one trace, the tool's work under the agent's call.
func Example() {
	ctx := context.Background()

	// The tool server, with its own service (in its own process, usually).
	serverRuns := memory.New()
	serverSvc, _ := flowtrace.NewTraceService(flowtrace.WithExporter(serverRuns))
	server := mcp.NewServer(&mcp.Implementation{Name: "weather", Version: "v1"}, nil)
	server.AddReceivingMiddleware(ftmcp.ServerMiddleware(serverSvc))
	type in struct {
		City string `json:"city"`
	}
	mcp.AddTool(server, &mcp.Tool{Name: "get_weather"},
		func(ctx context.Context, _ *mcp.CallToolRequest, in in) (*mcp.CallToolResult, any, error) {
			// The handler's ctx carries the server's run.
			lctx, _ := flowtrace.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "forecast-db", Type: flowtrace.TypeRetriever})
			flowtrace.EndComponent(lctx, nil)
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "sunny in " + in.City}}}, nil, nil
		})

	// The agent, with a client whose requests carry its run.
	agentRuns := memory.New()
	agentSvc, _ := flowtrace.NewTraceService(flowtrace.WithExporter(agentRuns))
	client := mcp.NewClient(&mcp.Implementation{Name: "agent", Version: "v1"}, nil)
	client.AddSendingMiddleware(ftmcp.ClientMiddleware(agentSvc))

	ct, st := mcp.NewInMemoryTransports() // mcp.CommandTransport for a server binary
	ss, _ := server.Connect(ctx, st, nil)
	cs, _ := client.Connect(ctx, ct, nil)

	rctx, _ := agentSvc.StartTracers(ctx, flowtrace.RunInfo{RunID: "agent-1", RunName: "agent"})
	res, err := cs.CallTool(rctx, &mcp.CallToolParams{Name: "get_weather", Arguments: map[string]any{"city": "Paris"}})
	answer := res.Content[0].(*mcp.TextContent).Text
	_, _ = agentSvc.EndTracers(rctx, map[string]any{"answer": answer}, err)

	_ = cs.Close()
	_ = ss.Wait()
	_ = serverSvc.Shutdown(ctx) // waits for the server's runs to be delivered
	_ = agentSvc.Shutdown(ctx)

	agentRun, _ := agentRuns.Run("agent-1")
	serverRun := serverRuns.Runs()[0]
	fmt.Print(agentRun.Tree(), serverRun.Tree())
	fmt.Println("parent run:", serverRun.Info.ParentRunID)
	fmt.Println("one trace:", serverRun.Info.TraceID == agentRun.Info.TraceID)
	fmt.Println("under the call:", serverRun.Info.ParentSpanID == agentRun.Components[0].Info.SpanID)
	// Output:
	// agent ok
	//   tools/call get_weather (tool) ok
	// tools/call get_weather ok
	//   forecast-db (retriever) ok
	// parent run: agent-1
	// one trace: true
	// under the call: true
}

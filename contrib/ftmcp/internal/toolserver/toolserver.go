// Package toolserver is the MCP server the tests of ftmcp call, in process
// (over in-memory transports) and as the binary of internal/testserver
// (over stdio): the same tools on both, so that both are asserted alike.
package toolserver

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/contrib/ftmcp"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// WeatherIn is the arguments of get_weather.
type WeatherIn struct {
	City string `json:"city"`
}

// WeatherOut is its structured result.
type WeatherOut struct {
	Forecast string `json:"forecast"`
}

// FailIn is the arguments of fail.
type FailIn struct {
	Reason string `json:"reason"`
}

// Forecast is get_weather's answer for city.
func Forecast(city string) string { return "sunny in " + city }

// New returns a server traced by svc with ftmcp.ServerMiddleware:
//
//   - get_weather {city} records a "lookup" retriever component in the
//     run its ctx carries and answers Forecast(city), as text and as
//     structured content;
//   - fail {reason} fails with reason (a result with isError set);
//   - echo_meta {any} answers, as text, the JSON of the _meta it received;
//   - the prompt greet {name} and the resource file:///readme.
func New(svc *flowtrace.TraceService) *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "weather", Version: "v1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "get_weather", Description: "the forecast of a city"},
		func(ctx context.Context, _ *mcp.CallToolRequest, in WeatherIn) (*mcp.CallToolResult, WeatherOut, error) {
			lctx, _ := flowtrace.TraceComponent(ctx, flowtrace.ComponentInfo{
				Name: "lookup", Type: flowtrace.TypeRetriever, Inputs: map[string]any{"city": in.City},
			})
			out := WeatherOut{Forecast: Forecast(in.City)}
			flowtrace.SetOutputs(lctx, map[string]any{"forecast": out.Forecast})
			flowtrace.EndComponent(lctx, nil)
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: out.Forecast}}}, out, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "fail", Description: "fails"},
		func(_ context.Context, _ *mcp.CallToolRequest, in FailIn) (*mcp.CallToolResult, any, error) {
			return nil, nil, errors.New(in.Reason)
		})
	s.AddTool(&mcp.Tool{Name: "echo_meta", Description: "answers the _meta it received",
		InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			b, err := json.Marshal(req.Params.Meta)
			if err != nil {
				return nil, err
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(b)}}}, nil
		})
	s.AddPrompt(&mcp.Prompt{Name: "greet", Arguments: []*mcp.PromptArgument{{Name: "name"}}},
		func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{
				Role: "user", Content: &mcp.TextContent{Text: "Hello, " + req.Params.Arguments["name"]},
			}}}, nil
		})
	s.AddResource(&mcp.Resource{URI: "file:///readme", Name: "readme", MIMEType: "text/plain"},
		func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, Text: "read me"}}}, nil
		})
	s.AddReceivingMiddleware(ftmcp.ServerMiddleware(svc))
	return s
}

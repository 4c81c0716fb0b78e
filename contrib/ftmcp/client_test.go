package ftmcp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/contrib/ftmcp"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echoMeta calls echo_meta and returns the _meta the server received.
func echoMeta(t *testing.T, ctx context.Context, cs *mcp.ClientSession, p *mcp.CallToolParams) map[string]any {
	t.Helper()
	p.Name = "echo_meta"
	res, err := cs.CallTool(ctx, p)
	require.NoError(t, err)
	require.Len(t, res.Content, 1)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(res.Content[0].(*mcp.TextContent).Text), &got))
	return got
}

// traceKeys returns the trace context keys of meta.
func traceKeys(meta map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range []string{ftmcp.MetaTraceparent, ftmcp.MetaTracestate, ftmcp.MetaBaggage} {
		if v, ok := meta[k]; ok {
			out[k] = v
		}
	}
	return out
}

// startRun starts a run of s, ended (delivery awaited) at the end of the
// test unless the test ends it.
func startRun(t *testing.T, s *side) context.Context {
	t.Helper()
	ctx, err := s.svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "agent"})
	require.NoError(t, err)
	return ctx
}

func endRun(t *testing.T, s *side, ctx context.Context) {
	t.Helper()
	ectx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	_, err := s.svc.EndTracers(ectx, nil, nil)
	require.NoError(t, err)
}

func TestClientOutsideRunPassesThrough(t *testing.T) {
	agent, tools := newSide(t), newSide(t)
	cs, closeSession := connectInMemory(t, agent, tools.svc)

	meta := map[string]any{"custom": "x"}
	got := echoMeta(t, context.Background(), cs, &mcp.CallToolParams{Meta: meta, Arguments: map[string]any{}})
	assert.Equal(t, "x", got["custom"])
	for _, k := range []string{ftmcp.MetaTraceparent, ftmcp.MetaTracestate, ftmcp.MetaBaggage} {
		assert.NotContains(t, got, k, "no trace context outside a run")
	}
	assert.Equal(t, "x", meta["custom"])
	assert.Empty(t, traceKeys(meta), "the caller's _meta gets no trace context")
	closeSession()
	tools.shutdown(t)
	assert.Zero(t, agent.mem.Len(), "nothing recorded on the client")
	require.Len(t, tools.mem.Runs(), 1)
	assert.Empty(t, tools.mem.Runs()[0].Info.ParentRunID, "the server starts a fresh run")
}

func TestClientInjectsAndKeepsCallerMeta(t *testing.T) {
	otherTP := "00-" + strings.Repeat("1", 32) + "-" + strings.Repeat("2", 16) + "-01"
	cases := []struct {
		name           string
		meta           func(rc flowtrace.RunContext) map[string]any
		wantTracestate bool
		wantBaggage    string // the caller's members, after flowtrace's
	}{
		{"no _meta", func(flowtrace.RunContext) map[string]any { return nil }, false, ""},
		{"other keys", func(flowtrace.RunContext) map[string]any {
			return map[string]any{"custom": "x", "progressToken": "p1"}
		}, false, ""},
		{"caller baggage merged", func(flowtrace.RunContext) map[string]any {
			return map[string]any{"baggage": "tenant=acme,tier=gold"}
		}, false, ",tenant=acme,tier=gold"},
		{"caller tracestate of another trace dropped", func(flowtrace.RunContext) map[string]any {
			return map[string]any{"traceparent": otherTP, "tracestate": "v=1"}
		}, false, ""},
		{"caller tracestate of the same trace kept", func(rc flowtrace.RunContext) map[string]any {
			return map[string]any{"traceparent": "00-" + rc.TraceIDString() + "-" + strings.Repeat("3", 16) + "-01", "tracestate": "v=1"}
		}, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			agent, tools := newSide(t), newSide(t)
			cs, closeSession := connectInMemory(t, agent, tools.svc)
			ctx := startRun(t, agent)
			rc, _ := flowtrace.RunFromContext(ctx)
			meta := tc.meta(rc)
			before := maps.Clone(meta)
			params := &mcp.CallToolParams{Meta: meta, Arguments: map[string]any{}}

			got := echoMeta(t, ctx, cs, params)
			endRun(t, agent, ctx)
			closeSession()
			tools.shutdown(t)

			// The SDK writes its own keys (protocol version, client info)
			// into the caller's _meta; the middleware writes into a copy.
			assert.Equal(t, traceKeys(before), traceKeys(meta), "the caller's _meta map gets no trace context")
			assert.Equal(t, traceKeys(before), traceKeys(params.Meta), "nor do the caller's params")
			run, ok := agent.mem.Run(rc.RunID())
			require.True(t, ok)
			require.Len(t, run.Components, 1)
			call := run.Components[0].Info
			flags := "01" // sampled
			if rc.Random() {
				flags = "03" // and W3C Level 2's random trace ID flag
			}
			assert.Equal(t, fmt.Sprintf("00-%s-%s-%s", rc.TraceIDString(), span(call.SpanID), flags), got[ftmcp.MetaTraceparent],
				"traceparent names the call's component")
			assert.Equal(t, "flowtrace.run.id="+rc.RunID()+tc.wantBaggage, got[ftmcp.MetaBaggage])
			if tc.wantTracestate {
				assert.Equal(t, "v=1", got[ftmcp.MetaTracestate])
			} else {
				assert.NotContains(t, got, ftmcp.MetaTracestate)
			}
			for k, v := range before {
				if k != ftmcp.MetaTraceparent && k != ftmcp.MetaTracestate && k != ftmcp.MetaBaggage {
					assert.Equal(t, v, got[k], "the caller's %s is sent", k)
				}
			}
			require.Len(t, tools.mem.Runs(), 1)
			assert.Equal(t, rc.RunID(), tools.mem.Runs()[0].Info.ParentRunID)
		})
	}
}

func TestToolFailuresAreErrorsOnBothSides(t *testing.T) {
	cases := []struct {
		name    string
		params  *mcp.CallToolParams
		wantErr string // in the message on both sides
		rpcErr  bool   // the call itself fails (a JSON-RPC error)
	}{
		{"isError result", &mcp.CallToolParams{Name: "fail", Arguments: map[string]any{"reason": "no such city"}},
			"ftmcp: tool returned an error: no such city", false},
		{"unknown tool", &mcp.CallToolParams{Name: "nope", Arguments: map[string]any{}}, `unknown tool "nope"`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			agent, tools := newSide(t), newSide(t)
			cs, closeSession := connectInMemory(t, agent, tools.svc)
			ctx := startRun(t, agent)
			rc, _ := flowtrace.RunFromContext(ctx)
			res, err := cs.CallTool(ctx, tc.params)
			if tc.rpcErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
				require.True(t, res.IsError)
			}
			endRun(t, agent, ctx)
			closeSession()
			tools.shutdown(t)

			run, _ := agent.mem.Run(rc.RunID())
			require.Len(t, run.Components, 1)
			c := run.Components[0]
			assert.Equal(t, "tools/call "+tc.params.Name, c.Info.Name)
			require.Error(t, c.Err)
			assert.Contains(t, c.Err.Error(), tc.wantErr)
			require.Len(t, tools.mem.Runs(), 1)
			sr := tools.mem.Runs()[0]
			assert.Equal(t, rc.RunID(), sr.Info.ParentRunID)
			require.Error(t, sr.Err, "the server run fails too")
			assert.Contains(t, sr.Err.Error(), tc.wantErr)
		})
	}
}

func TestArgumentsAreMaskedOnBothSides(t *testing.T) {
	agent, tools := newSide(t), newSide(t)
	cs, closeSession := connectInMemory(t, agent, tools.svc)
	ctx := startRun(t, agent)
	rc, _ := flowtrace.RunFromContext(ctx)
	echoMeta(t, ctx, cs, &mcp.CallToolParams{Arguments: map[string]any{"api_key": "sk-123", "q": "weather"}})
	endRun(t, agent, ctx)
	closeSession()
	tools.shutdown(t)

	want := map[string]any{"api_key": flowtrace.Masked, "q": "weather"}
	run, _ := agent.mem.Run(rc.RunID())
	require.Len(t, run.Components, 1)
	assert.Equal(t, want, run.Components[0].Inputs, "masked on the client")
	require.Len(t, tools.mem.Runs(), 1)
	assert.Equal(t, want, tools.mem.Runs()[0].Inputs, "masked on the server")
}

func TestOtherRequestsAreTraced(t *testing.T) {
	agent, tools := newSide(t), newSide(t)
	cs, closeSession := connectInMemory(t, agent, tools.svc)
	ctx := startRun(t, agent)
	rc, _ := flowtrace.RunFromContext(ctx)

	_, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "greet", Arguments: map[string]string{"name": "Ada"}})
	require.NoError(t, err)
	_, err = cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "file:///readme"})
	require.NoError(t, err)
	require.NoError(t, cs.Ping(ctx, &mcp.PingParams{}))
	endRun(t, agent, ctx)
	closeSession()
	tools.shutdown(t)

	run, _ := agent.mem.Run(rc.RunID())
	assert.Equal(t, "agent ok\n  prompts/get greet (prompt) ok\n  resources/read (mcp) ok\n  ping (mcp) ok\n", run.Tree())
	prompt, read := run.Components[0], run.Components[1]
	assert.Equal(t, map[string]any{"name": "Ada"}, prompt.Inputs)
	assert.Equal(t, map[string]any{
		ftmcp.KeyMethodName: "prompts/get", ftmcp.KeyTransport: "pipe",
	}, prompt.Info.Metadata.Map())
	assert.Equal(t, map[string]any{
		"messages": []any{map[string]any{"role": "user", "content": map[string]any{"type": "text", "text": "Hello, Ada"}}},
	}, prompt.Outputs)
	assert.Equal(t, map[string]any{"uri": "file:///readme"}, read.Inputs)
	assert.Equal(t, map[string]any{
		"contents":   []any{map[string]any{"uri": "file:///readme", "mimeType": "text/plain", "text": "read me"}},
		"cacheScope": "public", "ttlMs": float64(0), // the SDK's caching hints (SEP-2549)
	}, read.Outputs)

	servers := map[string]string{}
	for _, r := range tools.mem.Runs() {
		assert.Equal(t, rc.RunID(), r.Info.ParentRunID, "%s continues the agent run", r.Info.RunName)
		servers[r.Info.RunName] = r.Tree()
	}
	assert.Equal(t, map[string]string{
		"prompts/get greet": "prompts/get greet ok\n",
		"resources/read":    "resources/read ok\n",
		"ping":              "ping ok\n",
	}, servers, "a ping in a run is traced; the handshake and tool listing outside it are not")
}

func TestHandshakeAndPingOutsideRunsAreNotTraced(t *testing.T) {
	tools := newSide(t)
	cs, closeSession := connectInMemory(t, nil, tools.svc)
	require.NoError(t, cs.Ping(waitCtx(t), nil))
	_, err := cs.ListTools(waitCtx(t), nil)
	require.NoError(t, err)
	closeSession()
	tools.shutdown(t)
	var names []string
	for _, r := range tools.mem.Runs() {
		names = append(names, r.Info.RunName)
	}
	assert.Equal(t, []string{"tools/list"}, names, "connecting and pinging start no run; listing tools does")
}

func TestUnsampledRunIsNotRecordedOnEitherSide(t *testing.T) {
	agent, tools := newSide(t, flowtrace.WithSampler(flowtrace.NeverSample())), newSide(t)
	cs, closeSession := connectInMemory(t, agent, tools.svc)
	ctx := startRun(t, agent)
	got := echoMeta(t, ctx, cs, &mcp.CallToolParams{Arguments: map[string]any{}})
	tp := got[ftmcp.MetaTraceparent].(string)
	assert.True(t, strings.HasSuffix(tp, "-00") || strings.HasSuffix(tp, "-02"), "the decision is sent, unsampled (random trace ID flag aside): %v", got)
	endRun(t, agent, ctx)
	closeSession()
	tools.shutdown(t)
	assert.Zero(t, agent.mem.Len())
	assert.Zero(t, tools.mem.Len(), "the server follows the caller's decision")
	assert.EqualValues(t, 1, tools.svc.Stats().RunsUnsampled)
}

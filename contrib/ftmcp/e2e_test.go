package ftmcp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/contrib/ftmcp"
	"github.com/flowtrace/flowtrace/contrib/ftmcp/internal/toolserver"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// agents is how many agent runs call a tool at once in the end-to-end tests.
const agents = 50

// callConcurrently runs agents agent runs of agent at once, each calling
// get_weather for a city of its own through cs, and returns the run ID of
// each city's run.
func callConcurrently(t *testing.T, agent *side, cs *mcp.ClientSession) map[string]string {
	t.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		runOf = make(map[string]string, agents)
	)
	for i := range agents {
		city := fmt.Sprintf("city-%02d", i)
		wg.Go(func() {
			ctx, err := agent.svc.StartTracers(context.Background(), flowtrace.RunInfo{
				RunName: "agent", Inputs: map[string]any{"city": city},
			})
			if !assert.NoError(t, err) {
				return
			}
			rc, _ := flowtrace.RunFromContext(ctx)
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_weather", Arguments: map[string]any{"city": city}})
			answer := ""
			if assert.NoError(t, err, "call for %s", city) && assert.Len(t, res.Content, 1) {
				answer = res.Content[0].(*mcp.TextContent).Text
			}
			assert.Equal(t, toolserver.Forecast(city), answer)
			ectx, cancel := context.WithTimeout(ctx, deadline)
			defer cancel()
			_, err = agent.svc.EndTracers(ectx, map[string]any{"answer": answer}, err)
			assert.NoError(t, err, "delivery of %s", city)
			mu.Lock()
			runOf[city] = rc.RunID()
			mu.Unlock()
		})
	}
	wg.Wait()
	require.Len(t, runOf, agents)
	return runOf
}

// weatherMetadata is the metadata of a get_weather call, on both sides.
var weatherMetadata = map[string]any{
	ftmcp.KeyMethodName:    "tools/call",
	ftmcp.KeyToolName:      "get_weather",
	ftmcp.KeyOperationName: ftmcp.OperationExecuteTool,
	ftmcp.KeyTransport:     "pipe",
}

// weatherResult is a get_weather result as outputs, on both sides.
func weatherResult(city string) map[string]any {
	fc := toolserver.Forecast(city)
	return map[string]any{
		"content":           []any{map[string]any{"type": "text", "text": fc}},
		"structuredContent": map[string]any{"forecast": fc},
	}
}

// assertOneTrace asserts the agent run of city and the tool run that
// continued it, exactly: their trees, and that they are one trace, the
// tool run a child run under the agent's component for the call.
func assertOneTrace(t *testing.T, city string, agent, tool view) {
	t.Helper()
	fc := toolserver.Forecast(city)
	assert.Equal(t, view{
		Name:    "agent",
		Inputs:  map[string]any{"city": city},
		Outputs: map[string]any{"answer": fc},
		Components: []compView{{
			Name: "tools/call get_weather", Type: flowtrace.TypeTool,
			Inputs: map[string]any{"city": city}, Metadata: weatherMetadata, Outputs: weatherResult(city),
		}},
	}, agent.shape(), "agent run of %s", city)
	assert.Equal(t, view{
		Name:     "tools/call get_weather",
		Inputs:   map[string]any{"city": city},
		Metadata: weatherMetadata,
		Outputs:  weatherResult(city),
		Components: []compView{{
			Name: "lookup", Type: flowtrace.TypeRetriever,
			Inputs: map[string]any{"city": city}, Outputs: map[string]any{"forecast": fc},
		}},
	}, tool.shape(), "tool run of %s", city)

	require.Len(t, agent.Components, 1)
	require.Len(t, tool.Components, 1)
	call, lookup := agent.Components[0], tool.Components[0]
	assert.Empty(t, agent.ParentRunID, "the agent run is top-level")
	assert.Empty(t, agent.ParentSpanID)
	assert.Equal(t, "", call.ParentID)
	assert.Equal(t, agent.SpanID, call.ParentSpanID, "the call is under the agent run")
	assert.Equal(t, agent.RunID, tool.ParentRunID, "the tool run is a child run of the agent's")
	assert.NotEqual(t, agent.RunID, tool.RunID, "with its own run ID")
	assert.Equal(t, agent.TraceID, tool.TraceID, "in the agent's trace")
	assert.Equal(t, call.SpanID, tool.ParentSpanID, "under the client's component for the call")
	assert.NotEqual(t, call.SpanID, tool.SpanID)
	assert.Equal(t, "", lookup.ParentID)
	assert.Equal(t, tool.SpanID, lookup.ParentSpanID, "the tool's writes land in the tool run")
}

// assertAllTraces matches each agent run with the one tool run under it.
func assertAllTraces(t *testing.T, agent *side, runOf map[string]string, tools []view) {
	t.Helper()
	require.Len(t, tools, agents, "one tool run per call, and nothing else (initialize is not traced)")
	byParent := make(map[string]view, len(tools))
	for _, v := range tools {
		_, dup := byParent[v.ParentRunID]
		require.False(t, dup, "one tool run per agent run: %s", v.ParentRunID)
		byParent[v.ParentRunID] = v
	}
	require.Equal(t, agents, agent.mem.Len())
	for city, id := range runOf {
		r, ok := agent.mem.Run(id)
		require.True(t, ok, "agent run of %s recorded", city)
		tool, ok := byParent[id]
		require.True(t, ok, "a tool run continues the agent run of %s", city)
		assertOneTrace(t, city, viewOf(t, r), tool)
	}
}

func TestInMemoryConcurrentToolCalls(t *testing.T) {
	agent, tools := newSide(t), newSide(t)
	cs, closeSession := connectInMemory(t, agent, tools.svc)

	runOf := callConcurrently(t, agent, cs)
	closeSession()
	tools.shutdown(t)

	var views []view
	for _, r := range tools.mem.Runs() {
		views = append(views, viewOf(t, r))
	}
	assertAllTraces(t, agent, runOf, views)
}

func TestStdioConcurrentToolCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a server binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "testserver")
	build := exec.Command("go", "build", "-o", bin, "./internal/testserver")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	traceFile := filepath.Join(dir, "runs.jsonl")
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "FTMCP_TRACE_FILE="+traceFile)
	cmd.Stderr = os.Stderr
	t.Cleanup(func() {
		// Close has waited for the process; this only matters when the
		// test failed before it.
		if cmd.Process != nil && cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})

	agent := newSide(t)
	client := mcp.NewClient(&mcp.Implementation{Name: "agent", Version: "v1"}, nil)
	client.AddSendingMiddleware(ftmcp.ClientMiddleware(agent.svc))
	cs, err := client.Connect(waitCtx(t), &mcp.CommandTransport{Command: cmd}, nil)
	require.NoError(t, err)

	runOf := callConcurrently(t, agent, cs)
	// Closing stdin ends the server; Close returns when the process has
	// exited, after it shut its service down: the file is complete.
	require.NoError(t, cs.Close(), "the server exits cleanly")
	require.NotNil(t, cmd.ProcessState, "the server process has exited")

	assertAllTraces(t, agent, runOf, readJSONL(t, traceFile))
}

// readJSONL reads the runs of a jsonl file as views.
func readJSONL(t *testing.T, path string) []view {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	type line struct {
		Event, RunID, ComponentID, ParentRunID, RunName, TraceID, SpanID, ParentSpanID string
		ParentID, Name, Type, Error                                                    string
		Inputs, Metadata, Values, Outputs                                              map[string]any
	}
	var (
		order []string
		runs  = map[string]*view{}
		ended = map[string]bool{}
	)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var raw map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &raw), "line %s", sc.Text())
		str := func(k string) string { s, _ := raw[k].(string); return s }
		obj := func(k string) map[string]any { m, _ := raw[k].(map[string]any); return m }
		l := line{
			Event: str("event"), RunID: str("run_id"), ComponentID: str("component_id"),
			ParentRunID: str("parent_run_id"), RunName: str("run_name"), TraceID: str("trace_id"),
			SpanID: str("span_id"), ParentSpanID: str("parent_span_id"), ParentID: str("parent_id"),
			Name: str("name"), Type: str("type"), Error: str("error"),
			Inputs: obj("inputs"), Metadata: obj("metadata"), Values: obj("values"), Outputs: obj("outputs"),
		}
		if l.Event == "run_start" {
			require.NotContains(t, runs, l.RunID, "one run_start per run")
			order = append(order, l.RunID)
			runs[l.RunID] = &view{
				RunID: l.RunID, ParentRunID: l.ParentRunID, Name: l.RunName, TraceID: l.TraceID,
				SpanID: l.SpanID, ParentSpanID: l.ParentSpanID, Inputs: l.Inputs, Metadata: l.Metadata,
			}
			continue
		}
		r := runs[l.RunID]
		require.NotNil(t, r, "%s of a started run", l.Event)
		require.False(t, ended[l.RunID], "%s after run_end", l.Event)
		comp := func() *compView {
			for i := range r.Components {
				if r.Components[i].ID == l.ComponentID {
					return &r.Components[i]
				}
			}
			t.Fatalf("%s of unknown component %s", l.Event, l.ComponentID)
			return nil
		}
		merge := func(dst *map[string]any, src map[string]any) {
			if len(src) == 0 {
				return
			}
			if *dst == nil {
				*dst = map[string]any{}
			}
			for k, v := range src {
				(*dst)[k] = v
			}
		}
		switch l.Event {
		case "component_start":
			r.Components = append(r.Components, compView{
				ID: l.ComponentID, ParentID: l.ParentID, Name: l.Name, Type: l.Type,
				SpanID: l.SpanID, ParentSpanID: l.ParentSpanID, Inputs: l.Inputs, Metadata: l.Metadata,
			})
		case "outputs":
			if l.ComponentID == "" {
				merge(&r.Outputs, l.Values)
			} else {
				merge(&comp().Outputs, l.Values)
			}
		case "component_end":
			comp().Err = l.Error
		case "run_end":
			merge(&r.Outputs, l.Outputs)
			r.Err = l.Error
			ended[l.RunID] = true
		default:
			t.Fatalf("unexpected event %q", l.Event)
		}
	}
	require.NoError(t, sc.Err())
	views := make([]view, 0, len(order))
	for _, id := range order {
		require.True(t, ended[id], "run %s ended", id)
		views = append(views, *runs[id])
	}
	return views
}

package fteino_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cloudwego/eino/components/prompt"
	"github.com/cloudwego/eino/compose"
	"github.com/cloudwego/eino/flow/agent"
	"github.com/cloudwego/eino/flow/agent/react"
	"github.com/cloudwego/eino/schema"
	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
	"github.com/stretchr/testify/require"
)

// errs collects what the service reports to its error handler, and
// passes it on to ch while there is room.
type errs struct {
	mu   sync.Mutex
	list []error
	ch   chan error
}

func (e *errs) add(err error) {
	e.mu.Lock()
	e.list = append(e.list, err)
	e.mu.Unlock()
	select {
	case e.ch <- err:
	default:
	}
}

func (e *errs) all() []error { e.mu.Lock(); defer e.mu.Unlock(); return slices.Clone(e.list) }

func newService(t testing.TB, opts ...flowtrace.Option) (*flowtrace.TraceService, *memory.Exporter, *errs) {
	t.Helper()
	mem := memory.New()
	reported := &errs{ch: make(chan error, 100)}
	opts = append(opts, flowtrace.WithExporter(mem), flowtrace.WithErrorHandler(reported.add))
	svc, err := flowtrace.NewTraceService(opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, svc.Shutdown(context.Background())) })
	return svc, mem, reported
}

// tree returns the run's memory.Run.Tree with each component's children
// sorted, as parallel steps start in any order, and errors cut to their
// first line, as eino's run several.
func tree(r memory.Run) string {
	firstLine := func(err error) error {
		if err == nil || errors.Is(err, flowtrace.ErrComponentNotEnded) {
			return err
		}
		line, _, _ := strings.Cut(err.Error(), "\n")
		return errors.New(line)
	}
	r.Err = firstLine(r.Err)
	for i := range r.Components {
		r.Components[i].Err = firstLine(r.Components[i].Err)
	}
	lines := strings.Split(strings.TrimSuffix(r.Tree(), "\n"), "\n")
	return strings.Join(sortBlock(lines), "\n") + "\n"
}

// sortBlock sorts the children of lines[0], the lines below it being its
// descendants.
func sortBlock(lines []string) []string {
	if len(lines) < 2 {
		return lines
	}
	indent := func(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }
	child := indent(lines[1])
	var blocks [][]string
	for _, l := range lines[1:] {
		if indent(l) == child {
			blocks = append(blocks, nil)
		}
		blocks[len(blocks)-1] = append(blocks[len(blocks)-1], l)
	}
	for i := range blocks {
		blocks[i] = sortBlock(blocks[i])
	}
	slices.SortFunc(blocks, func(a, b []string) int { return strings.Compare(strings.Join(a, "\n"), strings.Join(b, "\n")) })
	out := lines[:1:1]
	for _, b := range blocks {
		out = append(out, b...)
	}
	return out
}

// qaChain: a parallel step (a retriever and a lambda), then a nested
// sub-graph (a chat template and a chat model), then a lambda.
func qaChain(t *testing.T, m interface {
	Generate(context.Context, []*schema.Message, ...modelOption) (*schema.Message, error)
	Stream(context.Context, []*schema.Message, ...modelOption) (*schema.StreamReader[*schema.Message], error)
}) compose.Runnable[string, string] {
	t.Helper()
	ctx := context.Background()
	sub := compose.NewGraph[map[string]any, *schema.Message]()
	require.NoError(t, sub.AddChatTemplateNode("template", prompt.FromMessages(schema.FString, schema.UserMessage("{question}"))))
	require.NoError(t, sub.AddChatModelNode("model", m))
	require.NoError(t, sub.AddEdge(compose.START, "template"))
	require.NoError(t, sub.AddEdge("template", "model"))
	require.NoError(t, sub.AddEdge("model", compose.END))
	par := compose.NewParallel().
		AddRetriever("docs", fakeRetriever{}, compose.WithNodeName("docs")).
		AddLambda("question", compose.InvokableLambda(func(_ context.Context, q string) (string, error) { return q, nil }), compose.WithNodeName("question"))
	chain := compose.NewChain[string, string]().
		AppendParallel(par).
		AppendGraph(sub, compose.WithNodeName("answer"), compose.WithGraphCompileOptions(compose.WithGraphName("answer-graph"))).
		AppendLambda(compose.InvokableLambda(func(_ context.Context, m *schema.Message) (string, error) { return m.Content, nil }), compose.WithNodeName("final"))
	r, err := chain.Compile(ctx, compose.WithGraphName("qa"))
	require.NoError(t, err)
	return r
}

func newAgent(t testing.TB) *react.Agent {
	t.Helper()
	a, err := react.NewAgent(context.Background(), &react.AgentConfig{
		ToolCallingModel: fakeModel{},
		ToolsConfig:      compose.ToolsNodeConfig{Tools: []toolBase{weatherTool{}}},
	})
	require.NoError(t, err)
	return a
}

// with passes the handler to a run of the agent.
func with(h callbackHandler) agent.AgentOption {
	return agent.WithComposeOptions(compose.WithCallbacks(h))
}

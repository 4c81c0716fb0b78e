package fteino_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudwego/eino/callbacks"
	"github.com/cloudwego/eino/compose"
	"github.com/cloudwego/eino/schema"
	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/contrib/fteino"
	"github.com/flowtrace/flowtrace/exporter/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scenario is one kind of run: what the user's code does with the engine,
// and the tree and error it must record.
type scenario struct {
	name    string
	do      func(ctx context.Context, h callbacks.Handler) (string, error)
	tree    string
	wantErr error
}

// readAll reads a stream to its end, as a user does.
func readAll[T string | *schema.Message](sr *schema.StreamReader[T], err error) (string, error) {
	if err != nil {
		return "", err
	}
	defer sr.Close()
	var b strings.Builder
	for {
		c, err := sr.Recv()
		if errors.Is(err, io.EOF) {
			return b.String(), nil
		}
		if err != nil {
			return b.String(), err
		}
		switch c := any(c).(type) {
		case string:
			b.WriteString(c)
		case *schema.Message:
			b.WriteString(c.Content)
		}
	}
}

func scenarios(t *testing.T) []scenario {
	qa := qaChain(t, fakeModel{})
	qaPlain := qaChain(t, plainModel{})
	ag := newAgent(t)
	user := func(s string) []*schema.Message { return []*schema.Message{schema.UserMessage(s)} }
	qaTree := func(run, llm string) string {
		return run + "\n" +
			"  qa (chain) " + strings.SplitN(llm, "|", 2)[0] + "\n" +
			"    answer (chain) " + strings.SplitN(llm, "|", 2)[0] + "\n" +
			"      model (llm) " + strings.SplitN(llm, "|", 2)[1] + "\n" +
			"      template (prompt) ok\n" +
			"    docs (retriever) ok\n"
	}
	const rest = "    final (chain) ok\n    question (chain) ok\n"
	return []scenario{{
		name: "qa-invoke",
		do: func(ctx context.Context, h callbacks.Handler) (string, error) {
			return qa.Invoke(ctx, "why", compose.WithCallbacks(h))
		},
		tree: qaTree("qa-invoke ok", "ok|ok model=fake-gpt tokens=10/2") + rest,
	}, {
		name: "qa-stream",
		do: func(ctx context.Context, h callbacks.Handler) (string, error) {
			return readAll(qa.Stream(ctx, "why", compose.WithCallbacks(h)))
		},
		tree: qaTree("qa-stream ok", "ok|ok model=fake-gpt tokens=10/2") + rest,
	}, {
		name: "qa-plain-model",
		do: func(ctx context.Context, h callbacks.Handler) (string, error) {
			return qaPlain.Invoke(ctx, "why", compose.WithCallbacks(h))
		},
		// Without callbacks of its own, a model's name is unknown to eino.
		tree: qaTree("qa-plain-model ok", "ok|ok tokens=10/2") + rest,
	}, {
		name: "qa-plain-model-stream",
		do: func(ctx context.Context, h callbacks.Handler) (string, error) {
			return readAll(qaPlain.Stream(ctx, "why", compose.WithCallbacks(h)))
		},
		tree: qaTree("qa-plain-model-stream ok", "ok|ok tokens=10/2") + rest,
	}, {
		name: "qa-model-error",
		do: func(ctx context.Context, h callbacks.Handler) (string, error) {
			return qa.Invoke(ctx, "boom", compose.WithCallbacks(h))
		},
		tree: qaTree("qa-model-error error: [NodeRunError] model: boom", "error: [NodeRunError] model: boom|error: model: boom model=fake-gpt") +
			"    question (chain) ok\n",
		wantErr: errBoom,
	}, {
		name: "qa-stream-error",
		do: func(ctx context.Context, h callbacks.Handler) (string, error) {
			return readAll(qa.Stream(ctx, "boom", compose.WithCallbacks(h)))
		},
		// The sub-graph's output stream fails after its first chunk; eino
		// never starts "final", which cannot concatenate its input.
		tree: "qa-stream-error error: [NodeRunError] concat stream reader fail: failed to read from stream. error: model: boom\n" +
			"  qa (chain) error: [NodeRunError] concat stream reader fail: failed to read from stream. error: model: boom\n" +
			"    answer (chain) error: model: boom\n" +
			"      model (llm) error: model: boom model=fake-gpt\n" +
			"      template (prompt) ok\n" +
			"    docs (retriever) ok\n" +
			"    question (chain) ok\n",
		wantErr: errBoom,
	}, {
		name: "react",
		do: func(ctx context.Context, h callbacks.Handler) (string, error) {
			m, err := ag.Generate(ctx, user("weather in Paris"), with(h))
			if err != nil {
				return "", err
			}
			return m.Content, nil
		},
		tree: "react ok\n" +
			"  ReActAgent (chain) ok\n" +
			"    ChatModel (llm) ok model=fake-gpt tokens=10/1\n" +
			"    ChatModel (llm) ok model=fake-gpt tokens=30/5\n" +
			"    Tools (chain) ok\n" +
			"      weather (tool) ok\n",
	}, {
		name: "react-stream",
		do: func(ctx context.Context, h callbacks.Handler) (string, error) {
			return readAll(ag.Stream(ctx, user("weather in Paris"), with(h)))
		},
		tree: "react-stream ok\n" +
			"  ReActAgent (chain) ok\n" +
			"    ChatModel (llm) ok model=fake-gpt tokens=10/1\n" +
			"    ChatModel (llm) ok model=fake-gpt tokens=30/5\n" +
			"    Tools (chain) ok\n" +
			"      weather (tool) ok\n",
	}, {
		name: "react-tool-error",
		do: func(ctx context.Context, h callbacks.Handler) (string, error) {
			_, err := ag.Generate(ctx, user("weather in nowhere"), with(h))
			return "", err
		},
		tree: "react-tool-error error: [NodeRunError] failed to invoke tool[name:weather id:call-1]: weather: no such city\n" +
			"  ReActAgent (chain) error: [NodeRunError] failed to invoke tool[name:weather id:call-1]: weather: no such city\n" +
			"    ChatModel (llm) ok model=fake-gpt tokens=10/1\n" +
			"    Tools (chain) error: failed to invoke tool[name:weather id:call-1]: weather: no such city\n" +
			"      weather (tool) error: weather: no such city\n",
		wantErr: errNoCity,
	}, {
		name: "react-stream-tool-error",
		do: func(ctx context.Context, h callbacks.Handler) (string, error) {
			return readAll(ag.Stream(ctx, user("weather in nowhere"), with(h)))
		},
		tree: "react-stream-tool-error error: [NodeRunError] failed to stream tool call call-1: weather: no such city\n" +
			"  ReActAgent (chain) error: [NodeRunError] failed to stream tool call call-1: weather: no such city\n" +
			"    ChatModel (llm) ok model=fake-gpt tokens=10/1\n" +
			"    Tools (chain) error: failed to stream tool call call-1: weather: no such city\n" +
			"      weather (tool) error: weather: no such city\n",
		wantErr: errNoCity,
	}}
}

// runOnce runs sc as one flowtrace run with the given ID and returns what
// the memory exporter recorded.
func runOnce(t *testing.T, svc *flowtrace.TraceService, mem *memory.Exporter, h callbacks.Handler, sc scenario, id string) (memory.Run, error) {
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunID: id, RunName: sc.name})
	if err != nil {
		return memory.Run{}, err
	}
	out, runErr := sc.do(ctx, h)
	if !errors.Is(runErr, sc.wantErr) || (sc.wantErr == nil) != (runErr == nil) {
		return memory.Run{}, fmt.Errorf("run %s: got error %v, want %v", id, runErr, sc.wantErr)
	}
	end, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := svc.EndTracers(end, map[string]any{"answer": out}, runErr); err != nil {
		return memory.Run{}, err
	}
	r, ok := mem.Run(id)
	if !ok {
		return r, fmt.Errorf("run %s not recorded", id)
	}
	return r, nil
}

func TestTrees(t *testing.T) {
	svc, mem, reported := newService(t)
	h := fteino.NewHandler()
	for _, sc := range scenarios(t) {
		t.Run(sc.name, func(t *testing.T) {
			r, err := runOnce(t, svc, mem, h, sc, sc.name)
			require.NoError(t, err)
			assert.Equal(t, sc.tree, tree(r), "the run's tree")
		})
	}
	assert.Zero(t, svc.Stats().Late, "late writes")
	assert.Empty(t, reported.all(), "errors reported")
}

// TestConcurrentRuns runs 100 runs at once, of every scenario (success,
// model and tool errors, streams), through one handler, and checks that
// each run's tree is exactly its own.
func TestConcurrentRuns(t *testing.T) {
	svc, mem, reported := newService(t)
	h := fteino.NewHandler()
	all := scenarios(t)
	const runs = 100
	var wg sync.WaitGroup
	errs := make(chan error, runs)
	for i := range runs {
		sc := all[i%len(all)]
		wg.Go(func() {
			id := fmt.Sprintf("%s-%d", sc.name, i)
			r, err := runOnce(t, svc, mem, h, sc, id)
			if err == nil && tree(r) != sc.tree {
				err = fmt.Errorf("run %s: tree\n%s\nwant\n%s", id, tree(r), sc.tree)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	st := svc.Stats()
	assert.EqualValues(t, runs, st.RunsStarted)
	assert.Zero(t, st.Late, "late writes")
	d := st.Exporters["memory"]
	assert.Equal(t, d.Emitted, d.Delivered, "every event delivered: %+v", d)
	assert.Empty(t, reported.all(), "errors reported")
}

// TestOneHandlerTwoServices: the handler has no service of its own; one
// handler, shared by the runs of two services at once, records each run
// through the service that started it.
func TestOneHandlerTwoServices(t *testing.T) {
	svcA, memA, reportedA := newService(t)
	svcB, memB, reportedB := newService(t)
	h := fteino.NewHandler()
	sc := scenarios(t)[0]
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 10 {
		for name, svc := range map[string]*flowtrace.TraceService{"a": svcA, "b": svcB} {
			wg.Go(func() {
				r, err := runOnce(t, svc, map[string]*memory.Exporter{"a": memA, "b": memB}[name], h, sc, fmt.Sprintf("%s-%d", name, i))
				if err == nil && tree(r) != sc.tree {
					err = fmt.Errorf("run %s-%d: tree\n%s\nwant\n%s", name, i, tree(r), sc.tree)
				}
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	for name, mem := range map[string]*memory.Exporter{"a": memA, "b": memB} {
		require.Equal(t, 10, mem.Len(), "runs recorded by service %s", name)
		for _, r := range mem.Runs() {
			assert.True(t, strings.HasPrefix(r.Info.RunID, name+"-"), "service %s recorded run %s", name, r.Info.RunID)
		}
	}
	assert.Empty(t, reportedA.all())
	assert.Empty(t, reportedB.all())
}

package fteino_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/eino/callbacks"
	"github.com/cloudwego/eino/components"
	"github.com/cloudwego/eino/components/embedding"
	"github.com/cloudwego/eino/components/model"
	"github.com/cloudwego/eino/compose"
	"github.com/cloudwego/eino/schema"
	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/contrib/fteino"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shoutChain streams its input word by word, upper-cases the stream
// (streamed input and output) and joins it (streamed input).
func shoutChain(t *testing.T) compose.Runnable[string, string] {
	words := compose.StreamableLambda(func(_ context.Context, s string) (*schema.StreamReader[string], error) {
		return schema.StreamReaderFromArray(strings.SplitAfter(s, " ")), nil
	})
	upper := compose.TransformableLambda(func(_ context.Context, in *schema.StreamReader[string]) (*schema.StreamReader[string], error) {
		return schema.StreamReaderWithConvert(in, func(s string) (string, error) { return strings.ToUpper(s), nil }), nil
	})
	join := compose.CollectableLambda(func(_ context.Context, in *schema.StreamReader[string]) (string, error) {
		return readAll(in, nil)
	})
	r, err := compose.NewChain[string, string]().
		AppendLambda(words, compose.WithNodeName("words")).
		AppendLambda(upper, compose.WithNodeName("upper")).
		AppendLambda(join, compose.WithNodeName("join")).
		Compile(context.Background(), compose.WithGraphName("shout"))
	require.NoError(t, err)
	return r
}

// TestStreamedInputs checks components whose input is a stream: the input
// is recorded once drained, before the component ends, whether its output
// is a stream (upper) or not (join).
func TestStreamedInputs(t *testing.T) {
	shout := shoutChain(t)
	for _, streamed := range []bool{false, true} {
		svc, mem, reported := newService(t)
		h := fteino.NewHandler()
		sc := scenario{name: "shout", do: func(ctx context.Context, h callbacks.Handler) (string, error) {
			if streamed {
				return readAll(shout.Stream(ctx, "a b c", compose.WithCallbacks(h)))
			}
			return shout.Invoke(ctx, "a b c", compose.WithCallbacks(h))
		}}
		r, err := runOnce(t, svc, mem, h, sc, "shout")
		require.NoError(t, err)
		assert.Equal(t, "shout ok\n  shout (chain) ok\n    join (chain) ok\n    upper (chain) ok\n    words (chain) ok\n", tree(r))
		io := map[string][2]map[string]any{}
		for _, c := range r.Components {
			io[c.Info.Name] = [2]map[string]any{c.Inputs, c.Outputs}
		}
		assert.Equal(t, map[string][2]map[string]any{
			"shout": {{"input": "a b c"}, {"output": "A B C"}},
			"words": {{"input": "a b c"}, {"output": "a b c"}},
			"upper": {{"input": "a b c"}, {"output": "A B C"}},
			"join":  {{"input": "A B C"}, {"output": "A B C"}},
		}, io, "streamed=%v", streamed)
		assert.Zero(t, svc.Stats().Late)
		assert.Empty(t, reported.all())
	}
}

// TestAbandonedStream: the user closes the stream without reading it; the
// handler still drains its copy, and every component ends as it would have.
func TestAbandonedStream(t *testing.T) {
	qa := qaChain(t, fakeModel{})
	ag := newAgent(t)
	for name, open := range map[string]func(context.Context, callbacks.Handler) error{
		"qa-stream": func(ctx context.Context, h callbacks.Handler) error {
			sr, err := qa.Stream(ctx, "why", compose.WithCallbacks(h))
			if err == nil {
				sr.Close()
			}
			return err
		},
		"react-stream": func(ctx context.Context, h callbacks.Handler) error {
			sr, err := ag.Stream(ctx, []*schema.Message{schema.UserMessage("weather in Paris")}, with(h))
			if err == nil {
				sr.Close()
			}
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			svc, mem, reported := newService(t)
			sc := scenarioNamed(t, name)
			sc.do = func(ctx context.Context, h callbacks.Handler) (string, error) { return "", open(ctx, h) }
			r, err := runOnce(t, svc, mem, fteino.NewHandler(), sc, name)
			require.NoError(t, err)
			assert.Equal(t, sc.tree, tree(r))
			assert.Zero(t, svc.Stats().Late)
			assert.Empty(t, reported.all())
		})
	}
}

// stuckModel streams one chunk, then waits for unblock before the rest.
type stuckModel struct {
	fakeModel
	unblock chan struct{}
}

func (m stuckModel) Stream(ctx context.Context, in []*schema.Message, _ ...model.Option) (*schema.StreamReader[*schema.Message], error) {
	ctx = callbacks.EnsureRunInfo(ctx, "Stuck", components.ComponentOfChatModel)
	ctx = callbacks.OnStart(ctx, &model.CallbackInput{Messages: in, Config: fakeConfig})
	sr, sw := schema.Pipe[*model.CallbackOutput](1)
	go func() {
		defer sw.Close()
		sw.Send(&model.CallbackOutput{Message: schema.AssistantMessage("partial ", nil)}, nil)
		<-m.unblock
		sw.Send(&model.CallbackOutput{Message: schema.AssistantMessage("rest", nil)}, nil)
	}()
	_, sr = callbacks.OnEndWithStreamOutput(ctx, sr)
	return schema.StreamReaderWithConvert(sr, func(o *model.CallbackOutput) (*schema.Message, error) { return o.Message, nil }), nil
}

// TestStreamThatNeverEnds: a stream still open when the run ends keeps
// EndTracers waiting only until its ctx's deadline; EndTracers then names
// it, and what the stream's component records after is counted as late.
func TestStreamThatNeverEnds(t *testing.T) {
	svc, mem, reported := newService(t)
	m := stuckModel{unblock: make(chan struct{})}
	r, err := compose.NewChain[[]*schema.Message, *schema.Message]().
		AppendChatModel(m, compose.WithNodeName("model")).
		Compile(context.Background(), compose.WithGraphName("stuck"))
	require.NoError(t, err)

	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunID: "stuck", RunName: "stuck"})
	require.NoError(t, err)
	sr, err := r.Stream(ctx, []*schema.Message{schema.UserMessage("hi")}, compose.WithCallbacks(fteino.NewHandler()))
	require.NoError(t, err)
	first, err := sr.Recv()
	require.NoError(t, err)
	assert.Equal(t, "partial ", first.Content)
	sr.Close() // abandoned, the model still streaming

	end, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = svc.EndTracers(end, nil, nil)
	require.ErrorIs(t, err, flowtrace.ErrHoldsOpen)
	assert.Contains(t, err.Error(), "(model)", "the hold names the model's component")

	close(m.unblock) // the stream ends now: its component's writes are late
	select {
	case err := <-reported.ch:
		assert.ErrorIs(t, err, flowtrace.ErrComponentEnded, "the first late write is reported")
	case <-time.After(time.Minute):
		t.Fatal("no late write reported after the stream ended")
	}
	assert.NotZero(t, svc.Stats().Late)

	// The deadline that ended the wait for the holds also ended the wait
	// for delivery: Shutdown delivers the rest.
	flush, cancelFlush := context.WithTimeout(context.Background(), time.Minute)
	defer cancelFlush()
	require.NoError(t, svc.Shutdown(flush))
	run, ok := mem.Run("stuck")
	require.True(t, ok)
	assert.Equal(t, "stuck ok\n  stuck (chain) not ended\n    model (llm) not ended\n", tree(run))
}

// TestOutsideRun: the handler in a ctx without a run records nothing,
// reports nothing (it has no service to report to; the service that exists
// counts nothing either), and leaves the engine's results alone.
func TestOutsideRun(t *testing.T) {
	svc, mem, reported := newService(t)
	h := fteino.NewHandler()
	qa := qaChain(t, fakeModel{})
	out, err := qa.Invoke(context.Background(), "why", compose.WithCallbacks(h))
	require.NoError(t, err)
	assert.Equal(t, "Answer: why", out)
	out, err = readAll(qa.Stream(context.Background(), "why", compose.WithCallbacks(h)))
	require.NoError(t, err)
	assert.Equal(t, "Answer: why", out)
	assert.Zero(t, mem.Len())
	assert.Empty(t, reported.all())
	assert.Zero(t, svc.Stats().NoRun)
}

// TestUnsampled: an unsampled run records nothing and reports nothing.
func TestUnsampled(t *testing.T) {
	svc, mem, reported := newService(t, flowtrace.WithSampler(flowtrace.NeverSample()))
	h := fteino.NewHandler()
	for _, sc := range scenarios(t) {
		ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: sc.name})
		require.NoError(t, err)
		_, runErr := sc.do(ctx, h)
		require.True(t, errors.Is(runErr, sc.wantErr) && (runErr == nil) == (sc.wantErr == nil), "%s: %v", sc.name, runErr)
		_, err = svc.EndTracers(ctx, nil, runErr)
		require.NoError(t, err)
	}
	assert.Zero(t, mem.Len())
	assert.Empty(t, reported.all())
}

// fakeEmbedder runs its own callbacks, with its model and usage.
type fakeEmbedder struct{}

func (fakeEmbedder) IsCallbacksEnabled() bool { return true }

func (fakeEmbedder) EmbedStrings(ctx context.Context, texts []string, _ ...embedding.Option) ([][]float64, error) {
	ctx = callbacks.EnsureRunInfo(ctx, "FakeEmbedder", components.ComponentOfEmbedding)
	cfg := &embedding.Config{Model: "fake-embed"}
	ctx = callbacks.OnStart(ctx, &embedding.CallbackInput{Texts: texts, Config: cfg})
	out := make([][]float64, len(texts))
	for i, s := range texts {
		out[i] = []float64{float64(len(s)), 1}
	}
	callbacks.OnEnd(ctx, &embedding.CallbackOutput{Embeddings: out, Config: cfg,
		TokenUsage: &embedding.TokenUsage{PromptTokens: 3 * len(texts), TotalTokens: 3 * len(texts)}})
	return out, nil
}

func TestEmbedding(t *testing.T) {
	svc, mem, reported := newService(t)
	r, err := compose.NewChain[[]string, [][]float64]().
		AppendEmbedding(fakeEmbedder{}, compose.WithNodeName("embed")).
		Compile(context.Background())
	require.NoError(t, err)
	sc := scenario{name: "embed", do: func(ctx context.Context, h callbacks.Handler) (string, error) {
		_, err := r.Invoke(ctx, []string{"a", "bb"}, compose.WithCallbacks(h))
		return "", err
	}}
	run, err := runOnce(t, svc, mem, fteino.NewHandler(), sc, "embed")
	require.NoError(t, err)
	// An unnamed graph is named by its kind.
	assert.Equal(t, "embed ok\n  Chain (chain) ok\n    embed (embedding) ok model=fake-embed tokens=6/0\n", tree(run))
	c := named(run, "embed")
	require.Len(t, c, 1)
	assert.Equal(t, map[string]any{"texts": []any{"a", "bb"}}, c[0].Inputs)
	assert.Equal(t, map[string]any{"embeddings": int64(2)}, c[0].Outputs)
	require.Len(t, c[0].ModelCalls, 1)
	assert.Equal(t, flowtrace.Usage{InputTokens: 6, TotalTokens: 6}, c[0].ModelCalls[0].Call.Usage)
	assert.Empty(t, reported.all())
}

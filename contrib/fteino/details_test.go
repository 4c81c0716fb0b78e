package fteino_test

import (
	"testing"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/contrib/fteino"
	"github.com/flowtrace/flowtrace/exporter/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func scenarioNamed(t *testing.T, name string) scenario {
	for _, sc := range scenarios(t) {
		if sc.name == name {
			return sc
		}
	}
	t.Fatalf("no scenario %q", name)
	return scenario{}
}

// named returns the run's components named name, in start order.
func named(r memory.Run, name string) []memory.Component {
	var out []memory.Component
	for _, c := range r.Components {
		if c.Info.Name == name {
			out = append(out, c)
		}
	}
	return out
}

func TestModelCalls(t *testing.T) {
	for _, name := range []string{"react", "react-stream"} {
		t.Run(name, func(t *testing.T) {
			svc, mem, reported := newService(t)
			r, err := runOnce(t, svc, mem, fteino.NewHandler(), scenarioNamed(t, name), name)
			require.NoError(t, err)
			models := named(r, "ChatModel")
			require.Len(t, models, 2)
			streamed := name == "react-stream"
			want := []flowtrace.ModelCall{{
				Model: "fake-gpt", Provider: "fake",
				Input: []flowtrace.Message{{Role: "user", Content: "weather in Paris"}},
				// Streamed, the tool call comes in two chunks, joined.
				Output:        []flowtrace.Message{{Role: "assistant", ToolCalls: []flowtrace.ToolCall{{ID: "call-1", Name: "weather", Arguments: `{"city":"Paris"}`}}}},
				Usage:         flowtrace.Usage{InputTokens: 10, OutputTokens: 1, TotalTokens: 11, CacheReadTokens: 2},
				FinishReasons: []string{"tool_calls"},
			}, {
				Model: "fake-gpt", Provider: "fake",
				Input: []flowtrace.Message{
					{Role: "user", Content: "weather in Paris"},
					{Role: "assistant", ToolCalls: []flowtrace.ToolCall{{ID: "call-1", Name: "weather", Arguments: `{"city":"Paris"}`}}},
					{Role: "tool", Name: "weather", ToolCallID: "call-1", Content: "sunny in Paris"},
				},
				Output:        []flowtrace.Message{{Role: "assistant", Content: "It is sunny in Paris."}},
				Usage:         flowtrace.Usage{InputTokens: 30, OutputTokens: 5, TotalTokens: 35, CacheReadTokens: 2},
				FinishReasons: []string{"stop"},
			}}
			for i, c := range models {
				require.Len(t, c.ModelCalls, 1, "one model call per model component")
				got := c.ModelCalls[0].Call
				assert.Equal(t, flowtrace.TypeLLM, c.Info.Type)
				assert.InDelta(t, 0.5, got.Parameters["temperature"], 1e-6)
				// max_tokens is masked by the redact key "token" until the
				// secrets branch lands; it is there either way.
				assert.Contains(t, got.Parameters, "max_tokens")
				if streamed {
					assert.Positive(t, got.TimeToFirstChunk, "a stream's time to first chunk")
				} else {
					assert.Zero(t, got.TimeToFirstChunk)
				}
				got.Parameters, got.TimeToFirstChunk = nil, 0
				assert.Equal(t, want[i], got, "model call %d", i)
			}
			tool := named(r, "weather")
			require.Len(t, tool, 1)
			assert.Equal(t, map[string]any{"arguments": `{"city":"Paris"}`}, tool[0].Inputs)
			assert.Equal(t, map[string]any{"output": "sunny in Paris"}, tool[0].Outputs)
			assert.Equal(t, "call-1", tool[0].Info.Metadata.Map()["tool_call_id"])
			assert.Zero(t, svc.Stats().Late)
			assert.Empty(t, reported.all())
		})
	}
}

func TestGraphInputsAndOutputs(t *testing.T) {
	for _, name := range []string{"qa-invoke", "qa-stream"} {
		t.Run(name, func(t *testing.T) {
			svc, mem, reported := newService(t)
			r, err := runOnce(t, svc, mem, fteino.NewHandler(), scenarioNamed(t, name), name)
			require.NoError(t, err)
			one := func(name string) memory.Component {
				cs := named(r, name)
				require.Len(t, cs, 1, name)
				return cs[0]
			}
			// Streamed (qa-stream), the graph's and the sub-graph's inputs
			// arrive as streams, recorded with SetInputs.
			assert.Equal(t, map[string]any{"input": "why"}, one("qa").Inputs)
			assert.Equal(t, map[string]any{"output": "Answer: why"}, one("qa").Outputs)
			docs := []any{
				map[string]any{"id": "d1", "content": "about why", "score": 0.0},
				map[string]any{"id": "d2", "content": "more on why", "score": 0.0},
			}
			assert.Equal(t, map[string]any{"query": "why", "top_k": int64(0)}, one("docs").Inputs)
			assert.Equal(t, map[string]any{"documents": docs}, one("docs").Outputs)
			assert.Equal(t, map[string]any{"input": map[string]any{"docs": docs, "question": "why"}}, one("answer").Inputs)
			assert.Equal(t, map[string]any{"output": map[string]any{"role": "assistant", "content": "Answer: why"}}, one("answer").Outputs,
				"a message is recorded by its fields")
			assert.Equal(t, map[string]any{"messages": []any{map[string]any{"role": "user", "content": "why"}}}, one("template").Outputs)
			assert.Zero(t, svc.Stats().Late)
			assert.Empty(t, reported.all())
		})
	}
}

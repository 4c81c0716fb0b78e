package ftopenai_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/contrib/ftopenai"
	"github.com/flowtrace/flowtrace/exporter/memory"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func chatParams() openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:       openai.ChatModelGPT4o,
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("You are terse."), openai.UserMessage("Hello")},
		Temperature: openai.Float(0.2),
		MaxTokens:   openai.Int(64),
		TopP:        openai.Float(0.9),
		Seed:        openai.Int(7),
	}
}

var chatInput = []flowtrace.Message{{Role: "system", Content: "You are terse."}, {Role: "user", Content: "Hello"}}

func TestChat(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, chatJSON) })
	svc, mem, reported := newService(t)
	client := srv.client(ftopenai.Middleware())

	var got *openai.ChatCompletion
	run := inRun(t, svc, mem, "chat", func(ctx context.Context) {
		var err error
		got, err = client.Chat.Completions.New(ctx, chatParams())
		require.NoError(t, err)
	})
	assert.Equal(t, "Hello! How can I assist you today?", got.Choices[0].Message.Content, "wanted the SDK's answer untouched")
	assert.Equal(t, "chat ok\n  chat gpt-4o (llm) ok model=gpt-4o tokens=19/10\n", run.Tree())
	mc, ttfc := call(t, run, 0)
	assert.Zero(t, ttfc, "wanted no time to first chunk for a whole answer")
	assert.Equal(t, flowtrace.ModelCall{
		Model: "gpt-4o", Provider: "openai",
		ResponseID: "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", ResponseModel: "gpt-4o-2024-08-06",
		Parameters:    params(map[string]any{"temperature": 0.2, "max_tokens": 64, "top_p": 0.9, "seed": 7}),
		Input:         chatInput,
		Output:        []flowtrace.Message{{Role: "assistant", Content: "Hello! How can I assist you today?"}},
		Usage:         flowtrace.Usage{InputTokens: 19, OutputTokens: 10, TotalTokens: 29, CacheReadTokens: 3, ReasoningTokens: 2},
		FinishReasons: []string{"stop"},
	}, mc)
	c := run.Components[0]
	assert.Equal(t, flowtrace.TypeLLM, c.Info.Type)
	assert.Nil(t, c.Outputs, "wanted no outputs: the response's ID and model are the ModelCall's")
	assert.Empty(t, reported.all(), "wanted nothing reported")
	assertNoSecrets(t, run)
}

// assertNoSecrets checks that neither the API key nor a header the caller
// set reached any record of run.
func assertNoSecrets(t *testing.T, run memory.Run) {
	t.Helper()
	dump := fmt.Sprintf("%+v", run)
	for _, secret := range []string{apiKey, "TESTKEY", "caller-header-value", "Bearer", "X-Caller-Secret"} {
		assert.NotContains(t, dump, secret, "wanted no header in any record")
	}
}

func TestChatToolCalls(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, chatToolJSON) })
	svc, mem, _ := newService(t)
	client := srv.client(ftopenai.Middleware())

	p := openai.ChatCompletionNewParams{
		Model: openai.ChatModelGPT4o,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.UserMessage("Weather in Paris?"),
			{OfAssistant: &openai.ChatCompletionAssistantMessageParam{ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{{
				OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{ID: "call_0", Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "get_time", Arguments: "{}"}},
			}}}},
			openai.ToolMessage("12:00", "call_0"),
		},
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "get_weather"})},
	}
	run := inRun(t, svc, mem, "tools", func(ctx context.Context) {
		_, err := client.Chat.Completions.New(ctx, p)
		require.NoError(t, err)
	})
	mc, _ := call(t, run, 0)
	assert.Equal(t, flowtrace.ModelCall{
		Model: "gpt-4o", Provider: "openai",
		ResponseID: "chatcmpl-tool1", ResponseModel: "gpt-4o-2024-08-06",
		Parameters: params(map[string]any{"tools": []any{"get_weather"}}),
		Input: []flowtrace.Message{
			{Role: "user", Content: "Weather in Paris?"},
			{Role: "assistant", ToolCalls: []flowtrace.ToolCall{{ID: "call_0", Name: "get_time", Arguments: "{}"}}},
			{Role: "tool", ToolCallID: "call_0", Content: "12:00"},
		},
		Output: []flowtrace.Message{{Role: "assistant",
			ToolCalls: []flowtrace.ToolCall{{ID: "call_abc123", Name: "get_weather", Arguments: `{"city":"Paris"}`}}}},
		Usage:         flowtrace.Usage{InputTokens: 82, OutputTokens: 17, TotalTokens: 99},
		FinishReasons: []string{"tool_calls"},
	}, mc)
}

func TestChatStream(t *testing.T) {
	for _, tc := range []struct {
		name      string
		mw        option.Middleware
		askUsage  bool // the caller sets stream_options.include_usage
		wantUsage bool
	}{
		{name: "usage asked by the caller", mw: ftopenai.Middleware(), askUsage: true, wantUsage: true},
		{name: "usage asked by WithStreamUsage", mw: ftopenai.Middleware(ftopenai.WithStreamUsage()), wantUsage: true},
		{name: "no usage", mw: ftopenai.Middleware()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var srv *server
			srv = newServer(t, func(w http.ResponseWriter, r *http.Request) {
				evs := append([]string(nil), chatStream...)
				last := srv.requests()
				if so, ok := last[len(last)-1]["stream_options"].(map[string]any); ok && so["include_usage"] == true {
					evs = append(evs, chunk("", streamUsage))
				}
				writeSSE(w, append(evs, "[DONE]")...)
			})
			svc, mem, reported := newService(t)
			client := srv.client(tc.mw)
			p := chatParams()
			if tc.askUsage {
				p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			}
			var text strings.Builder
			run := inRun(t, svc, mem, "stream", func(ctx context.Context) {
				s := client.Chat.Completions.NewStreaming(ctx, p)
				for s.Next() {
					if ch := s.Current(); len(ch.Choices) > 0 {
						text.WriteString(ch.Choices[0].Delta.Content)
					}
				}
				require.NoError(t, s.Err())
			})
			assert.Equal(t, "Hello there!", text.String(), "wanted the caller to read the stream untouched")
			req := srv.requests()[0]
			assert.Equal(t, true, req["stream"])
			if tc.wantUsage {
				assert.Equal(t, map[string]any{"include_usage": true}, req["stream_options"], "wanted usage asked for")
			} else {
				assert.NotContains(t, req, "stream_options", "wanted the request not rewritten")
			}
			mc, ttfc := call(t, run, 0)
			assert.Positive(t, ttfc, "wanted the time to first chunk")
			want := flowtrace.ModelCall{
				Model: "gpt-4o", Provider: "openai",
				ResponseID: "chatcmpl-stream1", ResponseModel: "gpt-4o-2024-08-06", Stream: true,
				Parameters:    params(map[string]any{"temperature": 0.2, "max_tokens": 64, "top_p": 0.9, "seed": 7, "stream": true}),
				Input:         chatInput,
				Output:        []flowtrace.Message{{Role: "assistant", Content: "Hello there!"}},
				FinishReasons: []string{"stop"},
			}
			tokens := ""
			if tc.wantUsage {
				want.Usage = flowtrace.Usage{InputTokens: 9, OutputTokens: 4, TotalTokens: 13}
				tokens = " tokens=9/4"
			}
			assert.Equal(t, want, mc)
			assert.Equal(t, "stream ok\n  chat gpt-4o (llm) ok model=gpt-4o"+tokens+"\n", run.Tree())
			assert.Nil(t, run.Components[0].Outputs, "wanted no outputs: the response's ID and model are the ModelCall's")
			assert.Empty(t, reported.all())
			assertNoSecrets(t, run)
		})
	}
}

func TestChatStreamToolCalls(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeSSE(w, append(toolStream, "[DONE]")...) })
	svc, mem, _ := newService(t)
	client := srv.client(ftopenai.Middleware())
	run := inRun(t, svc, mem, "tools", func(ctx context.Context) {
		s := client.Chat.Completions.NewStreaming(ctx, chatParams())
		var acc openai.ChatCompletionAccumulator
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		require.NoError(t, s.Err())
		require.Len(t, acc.Choices[0].Message.ToolCalls, 2, "wanted the SDK to see both calls")
	})
	mc, ttfc := call(t, run, 0)
	assert.Positive(t, ttfc)
	assert.Equal(t, []flowtrace.Message{{Role: "assistant", ToolCalls: []flowtrace.ToolCall{
		{ID: "call_abc123", Name: "get_weather", Arguments: `{"city":"Paris"}`},
		{ID: "call_def456", Name: "get_time", Arguments: "{}"},
	}}}, mc.Output)
	assert.Equal(t, []string{"tool_calls"}, mc.FinishReasons)
	assert.Equal(t, "tools ok\n  chat gpt-4o (llm) ok model=gpt-4o\n", run.Tree())
}

func TestResponsesAPI(t *testing.T) {
	out := responses.ResponseInputItemParamOfFunctionCallOutput("18°C")
	out.OfFunctionCallOutput.CallID = openai.String("call_w0")
	for _, tc := range []struct {
		name   string
		body   string
		params responses.ResponseNewParams
		want   flowtrace.ModelCall
		tree   string
	}{{
		name: "text",
		body: responseJSON,
		params: responses.ResponseNewParams{Model: "gpt-4.1", Instructions: openai.String("Be brief."),
			Input:           responses.ResponseNewParamsInputUnion{OfString: openai.String("Tell me a story")},
			MaxOutputTokens: openai.Int(200), Temperature: openai.Float(1)},
		want: flowtrace.ModelCall{Model: "gpt-4.1", Provider: "openai",
			ResponseID: "resp_67ccd2bed1ec8190b14f964abc054267", ResponseModel: "gpt-4.1-2025-04-14",
			Parameters: params(map[string]any{"max_output_tokens": 200, "temperature": 1}),
			Input:      []flowtrace.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Tell me a story"}},
			Output:     []flowtrace.Message{{Role: "assistant", Content: "In a peaceful grove, a unicorn slept."}},
			Usage:      flowtrace.Usage{InputTokens: 36, OutputTokens: 87, TotalTokens: 123}, FinishReasons: []string{"completed"}},
		tree: "responses ok\n  responses gpt-4.1 (llm) ok model=gpt-4.1 tokens=36/87\n",
	}, {
		name: "tool call",
		body: responseToolJSON,
		params: responses.ResponseNewParams{Model: "gpt-4.1", Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage("Weather?", responses.EasyInputMessageRoleUser),
			responses.ResponseInputItemParamOfFunctionCall("{}", "call_w0", "get_location"),
			out,
		}}},
		want: flowtrace.ModelCall{Model: "gpt-4.1", Provider: "openai",
			ResponseID: "resp_tool", ResponseModel: "gpt-4.1-2025-04-14",
			Input: []flowtrace.Message{{Role: "user", Content: "Weather?"},
				{Role: "assistant", ToolCalls: []flowtrace.ToolCall{{ID: "call_w0", Name: "get_location", Arguments: "{}"}}},
				{Role: "tool", ToolCallID: "call_w0", Content: "18°C"}},
			Output: []flowtrace.Message{{Role: "assistant", ToolCalls: []flowtrace.ToolCall{{ID: "call_w1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}}},
			Usage:  flowtrace.Usage{InputTokens: 50, OutputTokens: 20, TotalTokens: 70, CacheReadTokens: 10, ReasoningTokens: 5}, FinishReasons: []string{"completed"}},
		tree: "responses ok\n  responses gpt-4.1 (llm) ok model=gpt-4.1 tokens=50/20\n",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, tc.body) })
			svc, mem, reported := newService(t)
			client := srv.client(ftopenai.Middleware())
			run := inRun(t, svc, mem, "responses", func(ctx context.Context) {
				_, err := client.Responses.New(ctx, tc.params)
				require.NoError(t, err)
			})
			assert.Equal(t, tc.tree, run.Tree())
			mc, _ := call(t, run, 0)
			assert.Equal(t, tc.want, mc)
			assert.Nil(t, run.Components[0].Outputs, "wanted no outputs: the response's ID and model are the ModelCall's")
			assert.Empty(t, reported.all())
		})
	}
}

func TestResponsesStream(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeSSE(w, named(responseEvents)...) })
	svc, mem, _ := newService(t)
	client := srv.client(ftopenai.Middleware())
	var text strings.Builder
	run := inRun(t, svc, mem, "responses", func(ctx context.Context) {
		s := client.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "gpt-4.1",
			Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Say hi")}})
		for s.Next() {
			if ev := s.Current(); ev.Type == "response.output_text.delta" {
				text.WriteString(ev.Delta)
			}
		}
		require.NoError(t, s.Err())
	})
	assert.Equal(t, "Hi there", text.String())
	mc, ttfc := call(t, run, 0)
	assert.Positive(t, ttfc)
	assert.Equal(t, flowtrace.ModelCall{Model: "gpt-4.1", Provider: "openai",
		ResponseID: "resp_s1", ResponseModel: "gpt-4.1-2025-04-14", Stream: true,
		Parameters: params(map[string]any{"stream": true}),
		Input:      []flowtrace.Message{{Role: "user", Content: "Say hi"}},
		Output:     []flowtrace.Message{{Role: "assistant", Content: "Hi there"}},
		Usage:      flowtrace.Usage{InputTokens: 37, OutputTokens: 11, TotalTokens: 48}, FinishReasons: []string{"completed"}}, mc)
	assert.Equal(t, "responses ok\n  responses gpt-4.1 (llm) ok model=gpt-4.1 tokens=37/11\n", run.Tree())
	assert.Nil(t, run.Components[0].Outputs, "wanted no outputs: the response's ID and model are the ModelCall's")
}

func TestEmbeddings(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, embeddingJSON) })
	svc, mem, _ := newService(t)
	client := srv.client(ftopenai.Middleware())
	run := inRun(t, svc, mem, "embed", func(ctx context.Context) {
		res, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: openai.EmbeddingModelTextEmbedding3Small,
			Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"first", "second"}},
			EncodingFormat: openai.EmbeddingNewParamsEncodingFormatFloat, Dimensions: openai.Int(3)})
		require.NoError(t, err)
		require.Len(t, res.Data, 2)
	})
	assert.Equal(t, "embed ok\n  embeddings text-embedding-3-small (embedding) ok model=text-embedding-3-small tokens=8/0\n", run.Tree())
	mc, _ := call(t, run, 0)
	assert.Equal(t, flowtrace.ModelCall{Model: "text-embedding-3-small", Provider: "openai", ResponseModel: "text-embedding-3-small",
		Parameters: params(map[string]any{"encoding_format": "float", "dimensions": 3}),
		Usage:      flowtrace.Usage{InputTokens: 8, TotalTokens: 8}}, mc)
	c := run.Components[0]
	assert.Equal(t, memory.Snapshot(map[string]any{"input": []any{"first", "second"}}), c.Inputs)
	assert.Equal(t, memory.Snapshot(map[string]any{"embeddings": 2}), c.Outputs)
}

func TestErrors(t *testing.T) {
	t.Run("429 then success: one component per attempt", func(t *testing.T) {
		var attempts atomic.Int32
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
			if attempts.Add(1) == 1 {
				w.Header().Set("Retry-After-Ms", "1")
				writeJSON(w, http.StatusTooManyRequests, rateLimitJSON)
				return
			}
			writeJSON(w, 200, chatJSON)
		})
		svc, mem, _ := newService(t)
		client := srv.client(ftopenai.Middleware())
		run := inRun(t, svc, mem, "retry", func(ctx context.Context) {
			_, err := client.Chat.Completions.New(ctx, chatParams())
			require.NoError(t, err, "wanted the SDK's retry to succeed")
		})
		assert.Equal(t, "retry ok\n"+
			"  chat gpt-4o (llm) error: ftopenai: 429 requests (rate_limit_exceeded): Rate limit reached for gpt-4o in organization org-x on requests per min (RPM). model=gpt-4o\n"+
			"  chat gpt-4o (llm) ok model=gpt-4o tokens=19/10\n", run.Tree())
		first, _ := call(t, run, 0)
		assert.Equal(t, chatInput, first.Input, "wanted the failed attempt's request recorded")
		assert.Empty(t, first.Output)
		second, _ := call(t, run, 1)
		assert.Equal(t, chatInput, second.Input, "wanted the retried request's body restored for it")
		assert.Len(t, srv.requests(), 2)
		assert.Equal(t, srv.requests()[0], srv.requests()[1], "wanted both attempts to send the same body")
	})
	t.Run("500", func(t *testing.T) {
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 500, serverErrorJSON) })
		svc, mem, _ := newService(t)
		client := srv.client(ftopenai.Middleware(), option.WithMaxRetries(0))
		run := inRun(t, svc, mem, "fail", func(ctx context.Context) {
			_, err := client.Chat.Completions.New(ctx, chatParams())
			var sdkErr *openai.Error
			require.ErrorAs(t, err, &sdkErr, "wanted the SDK's own error for the caller")
			assert.Equal(t, 500, sdkErr.StatusCode)
		})
		assert.Equal(t, "fail ok\n  chat gpt-4o (llm) error: ftopenai: 500 server_error: The server had an error while processing your request. Sorry about that! model=gpt-4o\n", run.Tree())
	})
	t.Run("malformed body", func(t *testing.T) {
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"id":"chatcmpl-x","choices":[{`) })
		svc, mem, _ := newService(t)
		client := srv.client(ftopenai.Middleware())
		run := inRun(t, svc, mem, "bad", func(ctx context.Context) {
			_, err := client.Chat.Completions.New(ctx, chatParams())
			require.Error(t, err, "wanted the SDK to fail on the body")
		})
		require.Len(t, run.Components, 1)
		assert.ErrorIs(t, run.Components[0].Err, ftopenai.ErrMalformedResponse)
	})
	t.Run("error event in a stream", func(t *testing.T) {
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
			writeSSE(w, chatStream[0], chatStream[1], `{"error":{"message":"overloaded","type":"server_error","code":null}}`)
		})
		svc, mem, _ := newService(t)
		client := srv.client(ftopenai.Middleware())
		run := inRun(t, svc, mem, "evt", func(ctx context.Context) {
			s := client.Chat.Completions.NewStreaming(ctx, chatParams())
			for s.Next() {
			}
			require.Error(t, s.Err())
		})
		assert.Equal(t, "evt ok\n  chat gpt-4o (llm) error: ftopenai: stream error server_error: overloaded model=gpt-4o\n", run.Tree())
		mc, _ := call(t, run, 0)
		assert.Equal(t, []flowtrace.Message{{Role: "assistant", Content: "Hello"}}, mc.Output, "wanted what arrived before the error")
	})
}

func TestStreamCutMidway(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeSSE(w, chatStream[:2]...)
		panic(http.ErrAbortHandler) // the connection drops mid-stream
	})
	svc, mem, _ := newService(t)
	client := srv.client(ftopenai.Middleware())
	run := inRun(t, svc, mem, "cut", func(ctx context.Context) {
		s := client.Chat.Completions.NewStreaming(ctx, chatParams())
		for s.Next() {
		}
		require.Error(t, s.Err(), "wanted the caller to see the cut")
	})
	require.Len(t, run.Components, 1)
	c := run.Components[0]
	assert.ErrorIs(t, c.Err, ftopenai.ErrStreamCut)
	mc, ttfc := call(t, run, 0)
	assert.Positive(t, ttfc)
	assert.Equal(t, []flowtrace.Message{{Role: "assistant", Content: "Hello"}}, mc.Output, "wanted what arrived")
	assert.Empty(t, mc.FinishReasons)
}

func TestStreamClosedEarly(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeSSE(w, chatStream[:2]...)
		<-r.Context().Done() // until the caller goes away
	})
	svc, mem, _ := newService(t)
	client := srv.client(ftopenai.Middleware())
	run := inRun(t, svc, mem, "closed", func(ctx context.Context) {
		s := client.Chat.Completions.NewStreaming(ctx, chatParams())
		for s.Next() {
			if ch := s.Current(); len(ch.Choices) > 0 && ch.Choices[0].Delta.Content == "Hello" {
				break
			}
		}
		require.NoError(t, s.Close())
	})
	assert.Equal(t, "closed ok\n  chat gpt-4o (llm) error: "+ftopenai.ErrStreamClosed.Error()+" model=gpt-4o\n", run.Tree())
	mc, _ := call(t, run, 0)
	assert.Equal(t, []flowtrace.Message{{Role: "assistant", Content: "Hello"}}, mc.Output, "wanted what arrived before the close")
}

func TestOutsideARun(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, chatJSON) })
	svc, mem, reported := newService(t)
	client := srv.client(ftopenai.Middleware(ftopenai.WithStreamUsage()))
	_, err := client.Chat.Completions.New(context.Background(), chatParams())
	require.NoError(t, err)
	assert.Zero(t, mem.Len(), "wanted nothing recorded outside a run")
	assert.Empty(t, reported.all(), "wanted nothing reported outside a run")
	_ = svc
}

func TestOtherEndpointsPassThrough(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"object":"list","data":[{"id":"gpt-4o","object":"model","created":1686935002,"owned_by":"openai"}]}`)
	})
	svc, mem, _ := newService(t)
	client := srv.client(ftopenai.Middleware())
	run := inRun(t, svc, mem, "models", func(ctx context.Context) {
		_, err := client.Models.Get(ctx, "gpt-4o")
		require.NoError(t, err)
	})
	assert.Equal(t, "models ok\n", run.Tree(), "wanted no component for an endpoint that is not a model call")
}

// TestNoRunAllocatesNothing pins that a call outside a run costs the
// middleware nothing.
func TestNoRunAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	mw := ftopenai.Middleware(ftopenai.WithStreamUsage())
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o"}`))
	require.NoError(t, err)
	resp := &http.Response{StatusCode: 200}
	next := func(*http.Request) (*http.Response, error) { return resp, nil }
	allocs := testing.AllocsPerRun(100, func() { _, _ = mw(req, next) })
	assert.Zero(t, allocs, "wanted no allocation outside a run")
}

func TestConcurrentCallsAcrossRuns(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, chatJSON) })
	streamSrv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeSSE(w, append(append([]string(nil), chatStream...), chunk("", streamUsage), "[DONE]")...)
	})
	svc, mem, reported := newService(t)
	plain := srv.client(ftopenai.Middleware())
	streamed := streamSrv.client(ftopenai.Middleware(ftopenai.WithStreamUsage()))

	const n = 50
	runs := make(chan memory.Run, n)
	errc := make(chan error, n)
	for i := range n {
		go func() {
			ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: fmt.Sprintf("run-%d", i)})
			if err != nil {
				errc <- err
				return
			}
			if i%2 == 0 {
				_, err = plain.Chat.Completions.New(ctx, chatParams())
			} else {
				s := streamed.Chat.Completions.NewStreaming(ctx, chatParams())
				for s.Next() {
				}
				err = s.Err()
			}
			sum, endErr := svc.EndTracers(ctx, nil, nil)
			if err = errors.Join(err, endErr); err != nil {
				errc <- err
				return
			}
			run, _ := mem.Run(sum.RunID)
			runs <- run
		}()
	}
	for range n {
		select {
		case err := <-errc:
			t.Fatal(err)
		case run := <-runs:
			var i int
			_, err := fmt.Sscanf(run.Info.RunName, "run-%d", &i)
			require.NoError(t, err)
			mc, _ := call(t, run, 0)
			if i%2 == 0 {
				assert.Equal(t, run.Info.RunName+" ok\n  chat gpt-4o (llm) ok model=gpt-4o tokens=19/10\n", run.Tree())
				assert.Equal(t, "Hello! How can I assist you today?", mc.Output[0].Content)
			} else {
				assert.Equal(t, run.Info.RunName+" ok\n  chat gpt-4o (llm) ok model=gpt-4o tokens=9/4\n", run.Tree())
				assert.Equal(t, []flowtrace.Message{{Role: "assistant", Content: "Hello there!"}}, mc.Output)
			}
			assert.Equal(t, chatInput, mc.Input)
		}
	}
	assert.Empty(t, reported.all())
}

func TestAPIErrorSaysStatusAndType(t *testing.T) {
	for _, tc := range []struct {
		err  ftopenai.APIError
		want string
	}{
		{ftopenai.APIError{StatusCode: 429, Type: "requests", Code: "rate_limit_exceeded", Message: "slow down"}, "ftopenai: 429 requests (rate_limit_exceeded): slow down"},
		{ftopenai.APIError{StatusCode: 502}, "ftopenai: 502"},
		{ftopenai.APIError{Type: "server_error", Message: "overloaded"}, "ftopenai: stream error server_error: overloaded"},
	} {
		assert.Equal(t, tc.want, tc.err.Error())
	}
}

package ftanthropic_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/contrib/ftanthropic"
	"github.com/flowtrace/flowtrace/exporter/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

const model = "claude-sonnet-4-5"

func msgParams() anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model:         model,
		MaxTokens:     1024,
		System:        []anthropic.TextBlockParam{{Text: "You are terse."}},
		Messages:      []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello"))},
		StopSequences: []string{"END"},
	}
}

var msgInput = []flowtrace.Message{{Role: "system", Content: "You are terse."}, {Role: "user", Content: "Hello"}}

func assertNoSecrets(t *testing.T, run memory.Run) {
	t.Helper()
	dump := fmt.Sprintf("%+v", run)
	for _, secret := range []string{apiKey, "TESTKEY", "caller-header-value", "X-Caller-Secret"} {
		assert.NotContains(t, dump, secret, "wanted no header in any record")
	}
}

func TestMessage(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, messageJSON) })
	svc, mem, reported := newService(t)
	client := srv.client(ftanthropic.RequestOptions()...)
	run := inRun(t, svc, mem, "msg", func(ctx context.Context) {
		res, err := client.Messages.New(ctx, msgParams())
		require.NoError(t, err)
		assert.Equal(t, "Hello! How can I help?", res.Content[0].Text)
	})
	assert.Equal(t, "msg ok\n  chat claude-sonnet-4-5 (llm) ok model=claude-sonnet-4-5 tokens=312/8\n", run.Tree())
	mc, ttfc := call(t, run, 0)
	assert.Zero(t, ttfc)
	assert.Equal(t, flowtrace.ModelCall{Model: model, Provider: "anthropic",
		ResponseID: "msg_01XFDUDYJgAACzvnptvVoYEL", ResponseModel: "claude-sonnet-4-5-20250929",
		Parameters: params(map[string]any{"max_tokens": 1024, "stop_sequences": []any{"END"}}),
		Input:      msgInput,
		Output:     []flowtrace.Message{{Role: "assistant", Content: "Hello! How can I help?"}},
		// input_tokens leave the cache out; flowtrace's count it
		Usage:         flowtrace.Usage{InputTokens: 312, OutputTokens: 8, TotalTokens: 320, CacheWriteTokens: 100, CacheReadTokens: 200},
		FinishReasons: []string{"end_turn"},
	}, mc)
	assert.Nil(t, run.Components[0].Outputs, "wanted no outputs: the response's ID and model are the ModelCall's")
	assert.Empty(t, reported.all())
	assertNoSecrets(t, run)
}

func TestToolUse(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, toolJSON) })
	svc, mem, _ := newService(t)
	client := srv.client(ftanthropic.RequestOptions()...)
	p := msgParams()
	p.Messages = []anthropic.MessageParam{
		anthropic.NewUserMessage(anthropic.NewTextBlock("Weather?")),
		anthropic.NewAssistantMessage(anthropic.NewToolUseBlock("toolu_0", map[string]any{}, "get_location")),
		anthropic.NewUserMessage(anthropic.NewToolResultBlock("toolu_0", "Paris", false)),
	}
	p.Tools = []anthropic.ToolUnionParam{anthropic.ToolUnionParamOfTool(anthropic.ToolInputSchemaParam{}, "get_weather")}
	run := inRun(t, svc, mem, "tools", func(ctx context.Context) {
		_, err := client.Messages.New(ctx, p)
		require.NoError(t, err)
	})
	mc, _ := call(t, run, 0)
	assert.Equal(t, []flowtrace.Message{{Role: "system", Content: "You are terse."}, {Role: "user", Content: "Weather?"},
		{Role: "assistant", ToolCalls: []flowtrace.ToolCall{{ID: "toolu_0", Name: "get_location", Arguments: "{}"}}},
		{Role: "tool", ToolCallID: "toolu_0", Content: "Paris"}}, mc.Input)
	assert.Equal(t, []flowtrace.Message{{Role: "assistant", Content: "Let me check.",
		ToolCalls: []flowtrace.ToolCall{{ID: "toolu_01A09q90qw90lq917835lq9", Name: "get_weather", Arguments: `{"location":"Paris"}`}}}}, mc.Output)
	assert.Equal(t, []string{"tool_use"}, mc.FinishReasons)
	assert.Equal(t, []any{"get_weather"}, mc.Parameters["tools"])
}

func TestStream(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeSSE(w, streamEvents) })
	svc, mem, reported := newService(t)
	client := srv.client(ftanthropic.RequestOptions()...)
	var acc anthropic.Message
	run := inRun(t, svc, mem, "stream", func(ctx context.Context) {
		s := client.Messages.NewStreaming(ctx, msgParams())
		for s.Next() {
			require.NoError(t, acc.Accumulate(s.Current()))
		}
		require.NoError(t, s.Err())
	})
	require.Len(t, acc.Content, 2, "wanted the SDK to read the stream untouched")
	mc, ttfc := call(t, run, 0)
	assert.Positive(t, ttfc)
	assert.Equal(t, flowtrace.ModelCall{Model: model, Provider: "anthropic",
		ResponseID: "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", ResponseModel: "claude-sonnet-4-5-20250929", Stream: true,
		Parameters: params(map[string]any{"max_tokens": 1024, "stop_sequences": []any{"END"}, "stream": true}),
		Input:      msgInput,
		Output: []flowtrace.Message{{Role: "assistant", Content: "Hello there!",
			ToolCalls: []flowtrace.ToolCall{{ID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Name: "get_weather", Arguments: `{"location": "Paris"}`}}}},
		// message_start's input and cache counts, message_delta's cumulative output
		Usage:         flowtrace.Usage{InputTokens: 75, OutputTokens: 15, TotalTokens: 90, CacheWriteTokens: 10, CacheReadTokens: 40},
		FinishReasons: []string{"tool_use"},
	}, mc)
	assert.Equal(t, "stream ok\n  chat claude-sonnet-4-5 (llm) ok model=claude-sonnet-4-5 tokens=75/15\n", run.Tree())
	assert.Empty(t, reported.all())
	assertNoSecrets(t, run)
}

func TestErrors(t *testing.T) {
	t.Run("429 then success: one component per attempt", func(t *testing.T) {
		var n atomic.Int32
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				w.Header().Set("Retry-After-Ms", "1")
				writeJSON(w, 429, rateLimitJSON)
				return
			}
			writeJSON(w, 200, messageJSON)
		})
		svc, mem, _ := newService(t)
		client := srv.client(ftanthropic.RequestOptions()...)
		run := inRun(t, svc, mem, "retry", func(ctx context.Context) {
			_, err := client.Messages.New(ctx, msgParams())
			require.NoError(t, err)
		})
		assert.Equal(t, "retry ok\n"+
			"  chat claude-sonnet-4-5 (llm) error: ftanthropic: 429 rate_limit_error: Number of request tokens has exceeded your per-minute rate limit model=claude-sonnet-4-5\n"+
			"  chat claude-sonnet-4-5 (llm) ok model=claude-sonnet-4-5 tokens=312/8\n", run.Tree())
	})
	t.Run("529 overloaded", func(t *testing.T) {
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 529, overloadedJSON) })
		svc, mem, _ := newService(t)
		client := srv.client(append(ftanthropic.RequestOptions(), option.WithMaxRetries(0))...)
		run := inRun(t, svc, mem, "fail", func(ctx context.Context) {
			_, err := client.Messages.New(ctx, msgParams())
			require.Error(t, err)
		})
		assert.Equal(t, "fail ok\n  chat claude-sonnet-4-5 (llm) error: ftanthropic: 529 overloaded_error: Overloaded model=claude-sonnet-4-5\n", run.Tree())
	})
	t.Run("malformed body", func(t *testing.T) {
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"id":"msg_x","content":[`) })
		svc, mem, _ := newService(t)
		client := srv.client(ftanthropic.RequestOptions()...)
		run := inRun(t, svc, mem, "bad", func(ctx context.Context) {
			_, err := client.Messages.New(ctx, msgParams())
			require.Error(t, err)
		})
		require.Len(t, run.Components, 1)
		assert.ErrorIs(t, run.Components[0].Err, ftanthropic.ErrMalformedResponse)
	})
	t.Run("error event in a stream", func(t *testing.T) {
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
			writeSSE(w, append(streamEvents[:4:4], [2]string{"error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`}))
		})
		svc, mem, _ := newService(t)
		client := srv.client(ftanthropic.RequestOptions()...)
		run := inRun(t, svc, mem, "evt", func(ctx context.Context) {
			s := client.Messages.NewStreaming(ctx, msgParams())
			for s.Next() {
			}
			require.Error(t, s.Err())
		})
		assert.Equal(t, "evt ok\n  chat claude-sonnet-4-5 (llm) error: ftanthropic: stream error overloaded_error: Overloaded model=claude-sonnet-4-5 tokens=75/1\n", run.Tree())
		mc, _ := call(t, run, 0)
		assert.Equal(t, []flowtrace.Message{{Role: "assistant", Content: "Hello"}}, mc.Output)
	})
}

func TestStreamCutMidway(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeSSE(w, streamEvents[:4])
		panic(http.ErrAbortHandler)
	})
	svc, mem, _ := newService(t)
	client := srv.client(ftanthropic.RequestOptions()...)
	run := inRun(t, svc, mem, "cut", func(ctx context.Context) {
		s := client.Messages.NewStreaming(ctx, msgParams())
		for s.Next() {
		}
		require.Error(t, s.Err())
	})
	require.Len(t, run.Components, 1)
	assert.ErrorIs(t, run.Components[0].Err, ftanthropic.ErrStreamCut)
	mc, _ := call(t, run, 0)
	assert.Equal(t, []flowtrace.Message{{Role: "assistant", Content: "Hello"}}, mc.Output)
	assert.Equal(t, int64(75), mc.Usage.InputTokens, "wanted message_start's usage")
}

func TestStreamClosedEarly(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeSSE(w, streamEvents[:4])
		<-r.Context().Done()
	})
	svc, mem, _ := newService(t)
	client := srv.client(ftanthropic.RequestOptions()...)
	run := inRun(t, svc, mem, "closed", func(ctx context.Context) {
		s := client.Messages.NewStreaming(ctx, msgParams())
		for s.Next() {
			if ev := s.Current(); ev.Type == "content_block_delta" {
				break
			}
		}
		require.NoError(t, s.Close())
	})
	assert.Equal(t, "closed ok\n  chat claude-sonnet-4-5 (llm) error: "+ftanthropic.ErrStreamClosed.Error()+" model=claude-sonnet-4-5 tokens=75/1\n", run.Tree())
	mc, _ := call(t, run, 0)
	assert.Equal(t, []flowtrace.Message{{Role: "assistant", Content: "Hello"}}, mc.Output)
}

// TestRequestOptionsTurnOffTheSDKsTelemetry leaves the SDK's telemetry at
// its default — spans through the registered provider, trace context
// through the registered propagator — and checks that RequestOptions
// leaves one record per call, flowtrace's, and no second traceparent; and,
// so that the check can fail, that Middleware alone leaves both.
func TestRequestOptionsTurnOffTheSDKsTelemetry(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetTextMapPropagator(prevProp)
		require.NoError(t, tp.Shutdown(context.Background()))
	})
	t.Setenv("ANTHROPIC_OPEN_TELEMETRY", "")
	t.Setenv("ANTHROPIC_OPEN_TELEMETRY_PROPAGATION", "")

	for _, tc := range []struct {
		name      string
		opts      []option.RequestOption
		wantSpans bool
	}{
		{name: "Middleware alone keeps the SDK's spans", opts: []option.RequestOption{option.WithMiddleware(ftanthropic.Middleware())}, wantSpans: true},
		{name: "RequestOptions", opts: ftanthropic.RequestOptions()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(spans.Ended())
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, messageJSON) })
			svc, mem, _ := newService(t)
			client := srv.client(tc.opts...)
			run := inRun(t, svc, mem, "otel", func(ctx context.Context) {
				_, err := client.Messages.New(ctx, msgParams())
				require.NoError(t, err)
			})
			assert.Equal(t, "otel ok\n  chat claude-sonnet-4-5 (llm) ok model=claude-sonnet-4-5 tokens=312/8\n", run.Tree())
			sdkSpans := len(spans.Ended()) - before
			traceparent := srv.received()[0].Get("Traceparent")
			if tc.wantSpans {
				assert.Positive(t, sdkSpans, "wanted the SDK's default telemetry on, for the check to mean something")
				assert.NotEmpty(t, traceparent)
			} else {
				assert.Zero(t, sdkSpans, "wanted no span of the SDK's own")
				assert.Empty(t, traceparent, "wanted no trace header from the SDK")
			}
		})
	}
}

func TestOutsideARun(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, messageJSON) })
	_, mem, reported := newService(t)
	client := srv.client(ftanthropic.RequestOptions()...)
	_, err := client.Messages.New(context.Background(), msgParams())
	require.NoError(t, err)
	assert.Zero(t, mem.Len())
	assert.Empty(t, reported.all())
}

func TestNoRunAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	mw := ftanthropic.Middleware()
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/v1/messages", strings.NewReader(`{"model":"x"}`))
	require.NoError(t, err)
	resp := &http.Response{StatusCode: 200}
	next := func(*http.Request) (*http.Response, error) { return resp, nil }
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = mw(req, next) }), "wanted no allocation outside a run")
}

func TestConcurrentCallsAcrossRuns(t *testing.T) {
	plainSrv := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, messageJSON) })
	streamSrv := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeSSE(w, streamEvents) })
	svc, mem, reported := newService(t)
	plain, streamed := plainSrv.client(ftanthropic.RequestOptions()...), streamSrv.client(ftanthropic.RequestOptions()...)
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
				_, err = plain.Messages.New(ctx, msgParams())
			} else {
				s := streamed.Messages.NewStreaming(ctx, msgParams())
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
			tokens := "312/8"
			if i%2 == 1 {
				tokens = "75/15"
			}
			assert.Equal(t, run.Info.RunName+" ok\n  chat claude-sonnet-4-5 (llm) ok model=claude-sonnet-4-5 tokens="+tokens+"\n", run.Tree())
			assert.Equal(t, msgInput, mc.Input)
		}
	}
	assert.Empty(t, reported.all())
}

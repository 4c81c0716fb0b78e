package ftopenai_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/contrib/ftopenai"
	"github.com/flowtrace/flowtrace/exporter/memory"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

func ExampleMiddleware() {
	// A fake API, for the example; without WithBaseURL the client talks to
	// OpenAI with the key in OPENAI_API_KEY.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, chatJSON)
	}))
	defer api.Close()

	mem := memory.New()
	svc, _ := flowtrace.NewTraceService(flowtrace.WithExporter(mem))
	defer func() { _ = svc.Shutdown(context.Background()) }()

	client := openai.NewClient(option.WithBaseURL(api.URL), option.WithAPIKey("sk-example"),
		option.WithMiddleware(ftopenai.Middleware(ftopenai.WithStreamUsage())))

	ctx, _ := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "greet"})
	res, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    openai.ChatModelGPT4o,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")},
	})
	sum, _ := svc.EndTracers(ctx, nil, err)

	fmt.Println(res.Choices[0].Message.Content)
	run, _ := mem.Run(sum.RunID)
	fmt.Print(run.Tree())
	u := run.Components[0].ModelCall().Usage
	fmt.Println("cached:", u.CacheReadTokens, "reasoning:", u.ReasoningTokens)
	// Output:
	// Hello! How can I assist you today?
	// greet ok
	//   chat gpt-4o (llm) ok model=gpt-4o tokens=19/10
	// cached: 3 reasoning: 2
}

package ftanthropic_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/contrib/ftanthropic"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

func ExampleRequestOptions() {
	// A fake API, for the example; without WithBaseURL the client talks to
	// Anthropic with the key in ANTHROPIC_API_KEY.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, messageJSON)
	}))
	defer api.Close()

	mem := memory.New()
	svc, _ := flowtrace.NewTraceService(flowtrace.WithExporter(mem))
	defer func() { _ = svc.Shutdown(context.Background()) }()

	opts := append(ftanthropic.RequestOptions(), option.WithBaseURL(api.URL), option.WithAPIKey("sk-ant-example"))
	client := anthropic.NewClient(opts...)

	ctx, _ := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "greet"})
	msg, err := client.Messages.New(ctx, anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 256,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello"))},
	})
	sum, _ := svc.EndTracers(ctx, nil, err)

	fmt.Println(msg.Content[0].Text)
	run, _ := mem.Run(sum.RunID)
	fmt.Print(run.Tree())
	u := run.Components[0].ModelCall().Usage
	fmt.Println("cache read:", u.CacheReadTokens, "cache write:", u.CacheWriteTokens)
	// Output:
	// Hello! How can I help?
	// greet ok
	//   chat claude-sonnet-4-5 (llm) ok model=claude-sonnet-4-5 tokens=312/8
	// cache read: 200 cache write: 100
}

// Command example records two OpenAI calls, one whole and one streamed, in
// a flowtrace run and prints the run as a tree when it ends.
//
// By default it talks to a fake API on 127.0.0.1 that answers as OpenAI
// does; with OPENAI_API_KEY set it talks to the real API (model
// OPENAI_MODEL, default gpt-4o-mini):
//
//	go run .
//	OPENAI_API_KEY=sk-... go run .
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/contrib/ftopenai"
	"github.com/flowtrace/flowtrace/exporter/console"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
}

func run() error {
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(console.New(os.Stdout)),
		flowtrace.WithErrorHandler(func(err error) { fmt.Fprintln(os.Stderr, "flowtrace:", err) }))
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = svc.Shutdown(ctx)
	}()

	opts := []option.RequestOption{option.WithMiddleware(ftopenai.Middleware(ftopenai.WithStreamUsage()))}
	model := os.Getenv("OPENAI_MODEL")
	if model == "" {
		model = "gpt-4o-mini"
	}
	if os.Getenv("OPENAI_API_KEY") == "" { // the SDK reads the key from the environment otherwise
		url, stop, err := fakeAPI()
		if err != nil {
			return err
		}
		defer stop()
		opts = append(opts, option.WithBaseURL(url), option.WithAPIKey("sk-fake"))
		fmt.Println("talking to a fake API at", url, "(set OPENAI_API_KEY for the real one)")
	}
	client := openai.NewClient(opts...)

	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "haiku"})
	if err != nil {
		return err
	}
	params := openai.ChatCompletionNewParams{
		Model:     model,
		Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Write a haiku about tracing.")},
		MaxTokens: openai.Int(60),
	}
	res, err := client.Chat.Completions.New(ctx, params)
	if err == nil && len(res.Choices) > 0 {
		fmt.Println(res.Choices[0].Message.Content)
		stream := client.Chat.Completions.NewStreaming(ctx, params)
		for stream.Next() {
			if c := stream.Current(); len(c.Choices) > 0 { // the usage chunk has none
				fmt.Print(c.Choices[0].Delta.Content)
			}
		}
		fmt.Println()
		err = stream.Err()
	}
	_, endErr := svc.EndTracers(ctx, nil, err)
	return errors.Join(err, endErr)
}

// fakeAPI serves chat completions, whole and streamed, on 127.0.0.1.
func fakeAPI() (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !bytes.Contains(body, []byte(`"stream":true`)) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"id":"chatcmpl-fake1","object":"chat.completion","created":1741569952,"model":"gpt-4o-mini-2024-07-18",`+
				`"choices":[{"index":0,"message":{"role":"assistant","content":"Spans in the dark night\nEach call leaves a quiet trace\nThe tree tells the tale"},`+
				`"finish_reason":"stop"}],"usage":{"prompt_tokens":14,"completion_tokens":19,"total_tokens":33}}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, text := range []string{"Tokens ", "drip ", "like ", "rain"} {
			fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-fake2\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\","+
				"\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":null}],\"usage\":null}\n\n", text)
			w.(http.Flusher).Flush()
		}
		fmt.Fprint(w, "data: {\"id\":\"chatcmpl-fake2\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\","+
			"\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n")
		fmt.Fprint(w, "data: {\"id\":\"chatcmpl-fake2\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\","+
			"\"choices\":[],\"usage\":{\"prompt_tokens\":14,\"completion_tokens\":4,\"total_tokens\":18}}\n\ndata: [DONE]\n\n")
	})}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String() + "/v1/", func() { _ = srv.Close() }, nil
}

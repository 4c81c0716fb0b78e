// Command example records two Anthropic Messages calls, one whole and one
// streamed, in a flowtrace run and prints the run as a tree when it ends.
//
// By default it talks to a fake API on 127.0.0.1 that answers as Anthropic
// does; with ANTHROPIC_API_KEY set it talks to the real API (model
// ANTHROPIC_MODEL, default claude-haiku-4-5):
//
//	go run .
//	ANTHROPIC_API_KEY=sk-ant-... go run .
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/contrib/ftanthropic"
	"github.com/flowtrace/flowtrace/exporter/console"
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

	opts := ftanthropic.RequestOptions()
	model := os.Getenv("ANTHROPIC_MODEL")
	if model == "" {
		model = "claude-haiku-4-5"
	}
	if os.Getenv("ANTHROPIC_API_KEY") == "" {
		url, stop, err := fakeAPI()
		if err != nil {
			return err
		}
		defer stop()
		opts = append(opts, option.WithBaseURL(url), option.WithAPIKey("sk-ant-fake"))
		fmt.Println("talking to a fake API at", url, "(set ANTHROPIC_API_KEY for the real one)")
	}
	client := anthropic.NewClient(opts...)

	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "haiku"})
	if err != nil {
		return err
	}
	params := anthropic.MessageNewParams{
		Model:     anthropic.Model(model),
		MaxTokens: 100,
		System:    []anthropic.TextBlockParam{{Text: "Answer in one haiku."}},
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("What is tracing?"))},
	}
	msg, err := client.Messages.New(ctx, params)
	if err == nil {
		for _, b := range msg.Content {
			fmt.Println(b.Text)
		}
		stream := client.Messages.NewStreaming(ctx, params)
		for stream.Next() {
			if ev := stream.Current(); ev.Type == "content_block_delta" {
				fmt.Print(ev.Delta.Text)
			}
		}
		fmt.Println()
		err = stream.Err()
	}
	_, endErr := svc.EndTracers(ctx, nil, err)
	return errors.Join(err, endErr)
}

// fakeAPI serves the Messages API, whole and streamed, on 127.0.0.1.
func fakeAPI() (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Stream bool `json:"stream"`
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &req)
		if !req.Stream {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"id":"msg_fake1","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001",`+
				`"content":[{"type":"text","text":"Each call leaves a mark\nspans nest inside their parent\nthe run tells its tale"}],`+
				`"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":18,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":21}}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		send := func(event, data string) {
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data)
			w.(http.Flusher).Flush()
		}
		send("message_start", `{"type":"message_start","message":{"id":"msg_fake2","type":"message","role":"assistant","content":[],"model":"claude-haiku-4-5-20251001","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":18,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}`)
		send("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
		for _, t := range []string{"Tokens ", "drip ", "like ", "rain"} {
			send("content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":%q}}`, t))
		}
		send("content_block_stop", `{"type":"content_block_stop","index":0}`)
		send("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":5}}`)
		send("message_stop", `{"type":"message_stop"}`)
	})}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

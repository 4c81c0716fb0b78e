package console_test

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/console"
)

func Example() {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	const id = "6f1c2a9e-1b2c-4d5e-8f90-1234567890e2"

	e := console.New(os.Stdout)
	trace := [16]byte{0x6f, 0x1c, 0x2a, 0x9e, 0x1b, 0x2c, 0x4d, 0x5e, 0x8f, 0x90, 0x12, 0x34, 0x56, 0x78, 0x90, 0xe2}
	run, _ := e.StartRun(ctx, flowtrace.RunStart{RunID: id, TraceID: trace, RunName: "support-bot", UserID: "u1", SessionID: "s1", Time: at(0)})
	_ = run.StartComponent(ctx, flowtrace.ComponentStart{RunID: id, ComponentID: "llm", Name: "OpenAI", Type: "llm", Time: at(1)})
	_ = run.AddLog(ctx, flowtrace.LogEntry{RunID: id, ComponentID: "llm", Name: "prompt", Message: "What is the capital of France? Answer in one word, please, and be brief.", Time: at(2)})
	_ = run.SetOutputs(ctx, flowtrace.Outputs{RunID: id, ComponentID: "llm", Values: flowtrace.FieldsOf(map[string]any{"text": "Paris", "tokens": int64(3)}), Time: at(812)})
	_ = run.EndComponent(ctx, flowtrace.ComponentEnd{RunID: id, ComponentID: "llm", Time: at(813)})
	_ = run.StartComponent(ctx, flowtrace.ComponentStart{RunID: id, ComponentID: "search", Name: "search", Type: "tool", Time: at(820)})
	_ = run.StartComponent(ctx, flowtrace.ComponentStart{RunID: id, ComponentID: "http", ParentID: "search", Name: "http", Type: "tool", Time: at(821)})
	_ = run.EndComponent(ctx, flowtrace.ComponentEnd{RunID: id, ComponentID: "http", Time: at(860)})
	_ = run.EndComponent(ctx, flowtrace.ComponentEnd{RunID: id, ComponentID: "search", Err: errors.New("timeout"), Time: at(860)})
	_ = run.AddLog(ctx, flowtrace.LogEntry{RunID: id, Name: "done", Message: "finished", Time: at(1200)})
	_ = run.EndRun(ctx, flowtrace.RunEnd{RunID: id, Outputs: flowtrace.FieldsOf(map[string]any{"answer": "Paris"}), Time: at(1234)})
	// Output:
	// ▶ support-bot  run 6f1c2a9e…90e2  trace=6f1c2a9e1b2c4d5e8f901234567890e2 user=u1 session=s1  1.234s  ok
	// ├─ OpenAI (llm) 812ms ok
	// │  ├ log prompt: "What is the capital of France? Answer in one word, please,…
	// │  ├ out text: "Paris"
	// │  └ out tokens: 3
	// ├─ search (tool) 40ms error: timeout
	// │  └─ http (tool) 39ms ok
	// ├ log done: "finished"
	// └ out answer: "Paris"
}

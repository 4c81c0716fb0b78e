package jsonl_test

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/jsonl"
)

func Example() {
	ctx := context.Background()
	t := time.Date(2026, 11, 24, 10, 0, 0, 123456789, time.UTC)
	e := jsonl.New(os.Stdout)
	run, _ := e.StartRun(ctx, flowtrace.RunStart{RunID: "r1", RunName: "support-bot", UserID: "u1", TraceID: [16]byte{0xab, 15: 1}, SpanID: [8]byte{7: 1}, Time: t})
	_ = run.StartComponent(ctx, flowtrace.ComponentStart{RunID: "r1", ComponentID: "c1", Name: "OpenAI", Type: "llm", Inputs: flowtrace.FieldsOf(map[string]any{"q": "capital of France?"}), SpanID: [8]byte{7: 2}, ParentSpanID: [8]byte{7: 1}, Time: t})
	_ = run.AddLog(ctx, flowtrace.LogEntry{RunID: "r1", ComponentID: "c1", Name: "prompt", Message: "capital of France?", Type: "text", Time: t})
	_ = run.SetOutputs(ctx, flowtrace.Outputs{RunID: "r1", ComponentID: "c1", Values: flowtrace.FieldsOf(map[string]any{"text": "Paris"}), Time: t})
	_ = run.EndComponent(ctx, flowtrace.ComponentEnd{RunID: "r1", ComponentID: "c1", Err: errors.New("slow"), Time: t})
	_ = run.EndRun(ctx, flowtrace.RunEnd{RunID: "r1", Outputs: flowtrace.FieldsOf(map[string]any{"answer": "Paris"}), Time: t})
	// Output:
	// {"event":"run_start","time":"2026-11-24T10:00:00.123456789Z","run_id":"r1","run_name":"support-bot","user_id":"u1","trace_id":"ab000000000000000000000000000001","span_id":"0000000000000001"}
	// {"event":"component_start","time":"2026-11-24T10:00:00.123456789Z","run_id":"r1","component_id":"c1","name":"OpenAI","type":"llm","inputs":{"q":"capital of France?"},"span_id":"0000000000000002","parent_span_id":"0000000000000001"}
	// {"event":"log","time":"2026-11-24T10:00:00.123456789Z","run_id":"r1","component_id":"c1","name":"prompt","type":"text","message":"capital of France?"}
	// {"event":"outputs","time":"2026-11-24T10:00:00.123456789Z","run_id":"r1","component_id":"c1","values":{"text":"Paris"}}
	// {"event":"component_end","time":"2026-11-24T10:00:00.123456789Z","run_id":"r1","component_id":"c1","error":"slow"}
	// {"event":"run_end","time":"2026-11-24T10:00:00.123456789Z","run_id":"r1","outputs":{"answer":"Paris"}}
}

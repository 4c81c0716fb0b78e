package flowtrace_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/flowtrace/flowtrace"
)

// BenchmarkScrubbing records one component per op (start with inputs, a
// log, outputs, end) in a run that has seen no secret, and in runs that
// have seen 1 and 16 (masked under api_key when the run started): the
// difference is what value-based scrubbing costs a run with secrets.
func BenchmarkScrubbing(b *testing.B) {
	for _, n := range []int{0, 1, 16} {
		b.Run(fmt.Sprintf("secrets=%d", n), func(b *testing.B) {
			svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(&discardExporter{}), flowtrace.WithOverflow(flowtrace.BlockFor(time.Minute)))
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = svc.Shutdown(context.Background()) }()
			meta := map[string]any{}
			for i := range n {
				meta[fmt.Sprintf("api_key_%d", i)] = fmt.Sprintf("sk-live-%04d-abcdefghijklmnop", i)
			}
			ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "bench", Metadata: meta})
			if err != nil {
				b.Fatal(err)
			}
			inputs := map[string]any{"prompt": "What is the capital of France? Answer in one word.", "temperature": 0.2, "max_tokens": 64}
			outputs := map[string]any{"answer": "Paris", "prompt_tokens": 14, "completion_tokens": 1}
			b.ReportAllocs()
			for b.Loop() {
				cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "llm", Type: "llm", Inputs: inputs})
				svc.AddLog(cctx, flowtrace.Log{Name: "request", Message: "calling the model with a prompt of 14 tokens"})
				svc.SetOutputs(cctx, outputs)
				c.End(nil)
			}
			b.StopTimer()
			if _, err := svc.EndTracers(ctx, nil, nil); err != nil {
				b.Fatal(err)
			}
		})
	}
}

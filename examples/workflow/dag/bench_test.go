package dag_test

import (
	"context"
	"testing"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/examples/workflow/dag"
)

// discard is an exporter that drops every record: what tracing costs the
// engine, without a backend's own cost.
type discard struct{}

func (discard) Name() string                   { return "discard" }
func (discard) Shutdown(context.Context) error { return nil }
func (discard) StartRun(context.Context, flowtrace.RunStart) (flowtrace.RunExporter, error) {
	return discard{}, nil
}
func (discard) StartComponent(context.Context, flowtrace.ComponentStart) error { return nil }
func (discard) AddLog(context.Context, flowtrace.LogEntry) error               { return nil }
func (discard) SetOutputs(context.Context, flowtrace.Outputs) error            { return nil }
func (discard) EndComponent(context.Context, flowtrace.ComponentEnd) error     { return nil }
func (discard) EndRun(context.Context, flowtrace.RunEnd) error                 { return nil }

// BenchmarkEngineRun10 runs flow10 (the LLM's wait left out) through the
// engine: "traced" with a discarding exporter, "untraced" with a disabled
// service. Their difference is what tracing adds to a run of this engine,
// goroutines and all; EndTracers waits for delivery inside the timed loop.
func BenchmarkEngineRun10(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []flowtrace.Option
	}{
		{"traced", []flowtrace.Option{flowtrace.WithExporter(discard{})}},
		{"untraced", []flowtrace.Option{flowtrace.WithDisabled(true)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			svc, err := flowtrace.NewTraceService(bc.opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = svc.Shutdown(context.Background()) }()
			g := flow10(b, nil)
			eng := dag.NewEngine(svc)
			in := map[string]any{"question": "where is my order?"}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := eng.Run(context.Background(), g, flowtrace.RunInfo{}, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

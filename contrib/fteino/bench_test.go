package fteino_test

import (
	"context"
	"testing"

	"github.com/cloudwego/eino/schema"
	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/contrib/fteino"
)

// BenchmarkReAct measures a ReAct agent run (two model calls, one tool)
// untraced, and traced as one flowtrace run into the memory exporter, in
// the same go test -bench run.
func BenchmarkReAct(b *testing.B) {
	ag := newAgent(b)
	in := []*schema.Message{schema.UserMessage("weather in Paris")}
	b.Run("untraced", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ag.Generate(context.Background(), in); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, mode := range []string{"generate", "stream"} {
		b.Run("traced-"+mode, func(b *testing.B) {
			svc, mem, _ := newService(b)
			h := fteino.NewHandler()
			b.ReportAllocs()
			for b.Loop() {
				ctx, _ := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "react"})
				var err error
				if mode == "stream" {
					_, err = readAll(ag.Stream(ctx, in, with(h)))
				} else {
					_, err = ag.Generate(ctx, in, with(h))
				}
				if err != nil {
					b.Fatal(err)
				}
				if _, err := svc.EndTracers(ctx, nil, nil); err != nil {
					b.Fatal(err)
				}
				mem.Reset()
			}
		})
	}
}

package flowtrace_test

import (
	"context"
	"testing"

	"github.com/flowtrace/flowtrace"
)

// BenchmarkFuncsNoRun measures each package-level function in a ctx with
// no run — node code instrumented once, called where nothing traces — and
// in an unsampled run, serially and from parallel goroutines. Both must
// stay a few nanoseconds and allocate nothing.
func BenchmarkFuncsNoRun(b *testing.B) {
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(&discardExporter{}), flowtrace.WithSampler(flowtrace.NeverSample()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = svc.Shutdown(context.Background()) })
	unsampled, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	if err != nil {
		b.Fatal(err)
	}
	for _, in := range []struct {
		name string
		ctx  context.Context
	}{{"no-run", context.Background()}, {"unsampled", unsampled}} {
		for _, c := range funcCalls {
			b.Run(in.name+"/"+c.name, func(b *testing.B) {
				ctx := in.ctx
				b.Run("serial", func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						c.call(ctx)
					}
				})
				b.Run("parallel", func(b *testing.B) {
					b.ReportAllocs()
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							c.call(ctx)
						}
					})
				})
			})
		}
	}
}

//go:build unix

package ftanthropic_test

import (
	"context"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/contrib/ftanthropic"
)

// BenchmarkCall measures an SDK call against the fake server, whole and
// streamed, in a run, with the SDK's telemetry off: without the middleware
// and recorded by it, in the same go test -bench run. cpu-ns/op is the
// CPU time of the whole process per call.
func BenchmarkCall(b *testing.B) {
	plain := newServer(b, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, messageJSON) })
	streamed := newServer(b, func(w http.ResponseWriter, r *http.Request) { writeSSE(w, streamEvents) })
	svc, mem, _ := newService(b)
	for _, kind := range []string{"whole", "stream"} {
		srv := plain
		if kind == "stream" {
			srv = streamed
		}
		for _, mode := range []string{"sdk", "recorded"} {
			b.Run(kind+"/"+mode, func(b *testing.B) {
				opts := ftanthropic.RequestOptions()
				if mode == "sdk" {
					opts = []option.RequestOption{option.WithOpenTelemetryTraces(false)}
				}
				client := srv.client(opts...)
				p := msgParams()
				b.ReportAllocs()
				cpu0 := cpuTime()
				for b.Loop() {
					ctx, _ := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "bench"})
					var err error
					if kind == "stream" {
						s := client.Messages.NewStreaming(ctx, p)
						for s.Next() {
						}
						err = s.Err()
					} else {
						_, err = client.Messages.New(ctx, p)
					}
					if err != nil {
						b.Fatal(err)
					}
					if _, err := svc.EndTracers(ctx, nil, nil); err != nil {
						b.Fatal(err)
					}
					mem.Reset()
				}
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

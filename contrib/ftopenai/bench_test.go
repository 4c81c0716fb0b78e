//go:build unix

package ftopenai_test

import (
	"context"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/contrib/ftopenai"
)

// BenchmarkCall measures an SDK call against the fake server, whole and
// streamed, in a run: without the middleware, and recorded by it, in the
// same go test -bench run; the difference is what recording costs. Each
// iteration starts and ends its run in both, so that the run's own cost
// cancels out. "outside-run" is the middleware on a call with no run.
// cpu-ns/op is the CPU time of the whole process (SDK, fake server,
// flowtrace's delivery) per call, steadier than ns/op on a shared machine.
func BenchmarkCall(b *testing.B) {
	plain := newServer(b, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, chatJSON) })
	streamed := newServer(b, func(w http.ResponseWriter, r *http.Request) {
		writeSSE(w, append(append([]string(nil), chatStream...), chunk("", streamUsage), "[DONE]")...)
	})
	svc, mem, _ := newService(b)
	for _, kind := range []string{"whole", "stream"} {
		srv := plain
		if kind == "stream" {
			srv = streamed
		}
		for _, mode := range []string{"sdk", "recorded", "outside-run"} {
			b.Run(kind+"/"+mode, func(b *testing.B) {
				var mw = ftopenai.Middleware(ftopenai.WithStreamUsage())
				if mode == "sdk" {
					mw = nil
				}
				client := srv.client(mw)
				p := chatParams()
				b.ReportAllocs()
				cpu0 := cpuTime()
				for b.Loop() {
					ctx := context.Background()
					if mode != "outside-run" {
						ctx, _ = svc.StartTracers(ctx, flowtrace.RunInfo{RunName: "bench"})
					}
					var err error
					if kind == "stream" {
						s := client.Chat.Completions.NewStreaming(ctx, p)
						for s.Next() {
						}
						err = s.Err()
					} else {
						_, err = client.Chat.Completions.New(ctx, p)
					}
					if err != nil {
						b.Fatal(err)
					}
					if mode != "outside-run" {
						if _, err := svc.EndTracers(ctx, nil, nil); err != nil {
							b.Fatal(err)
						}
					}
					mem.Reset()
				}
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

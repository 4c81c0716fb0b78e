package tracing_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/tracing"
)

// slowExporter takes delay over each run's end, until stop is closed: a
// backend that answers slowly. Closing stop lets the backlog drain at once,
// so the benchmark's Shutdown does not pay for it.
type slowExporter struct {
	discard
	delay time.Duration
	stop  chan struct{}
}

func (s *slowExporter) StartRun(context.Context, flowtrace.RunStart) (flowtrace.RunExporter, error) {
	return slowRun{s}, nil
}

type slowRun struct{ s *slowExporter }

func (slowRun) StartComponent(context.Context, flowtrace.ComponentStart) error { return nil }
func (slowRun) AddLog(context.Context, flowtrace.LogEntry) error               { return nil }
func (slowRun) SetOutputs(context.Context, flowtrace.Outputs) error            { return nil }
func (slowRun) EndComponent(context.Context, flowtrace.ComponentEnd) error     { return nil }
func (r slowRun) EndRun(context.Context, flowtrace.RunEnd) error {
	t := time.NewTimer(r.s.delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.s.stop:
	}
	return nil
}

// BenchmarkMiddlewareLatency measures what the Middleware adds to a
// request's latency over net/http alone, with real connections on
// 127.0.0.1: each iteration sends one request to a bare server and one to
// a traced one (the same handler, one component per request), and times
// each. It reports the mean latency of each (ns/req-net/http,
// ns/req-traced), the difference and their ratio; ns/op is the pair.
//
// The exporters: one that discards, and one that takes 2 ms over each
// run's end, by default and under WithDeliveryWait. By default the slow
// exporter adds nothing to a request (its backlog is queued, or dropped
// and counted); under WithDeliveryWait every request waits for it.
func BenchmarkMiddlewareLatency(b *testing.B) {
	const slow = 2 * time.Millisecond
	cases := []struct {
		name string
		exp  func(stop chan struct{}) flowtrace.Exporter
		opts []tracing.Option
	}{
		{"discarding exporter", func(chan struct{}) flowtrace.Exporter { return discard{} }, nil},
		{"exporter taking 2ms", func(stop chan struct{}) flowtrace.Exporter { return &slowExporter{delay: slow, stop: stop} }, nil},
		{"exporter taking 2ms, WithDeliveryWait(1s)", func(stop chan struct{}) flowtrace.Exporter { return &slowExporter{delay: slow, stop: stop} },
			[]tracing.Option{tracing.WithDeliveryWait(time.Second)}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			stop := make(chan struct{})
			svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(c.exp(stop)))
			if err != nil {
				b.Fatal(err)
			}
			handler := func(svc *flowtrace.TraceService) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					_, comp := svc.TraceComponent(r.Context(), flowtrace.ComponentInfo{Name: "work"})
					comp.End(nil)
					_, _ = io.WriteString(w, "ok")
				})
			}
			bare := httptest.NewServer(handler(nil))
			traced := httptest.NewServer(tracing.Middleware(svc, handler(svc), c.opts...))
			defer func() {
				bare.Close()
				traced.Close()
				close(stop)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if err := svc.Shutdown(ctx); err != nil {
					b.Error(err)
				}
			}()
			client := bare.Client()
			do := func(url string) time.Duration {
				start := time.Now()
				resp, err := client.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return time.Since(start)
			}
			do(bare.URL) // a connection to each, kept alive
			do(traced.URL)
			var bareT, tracedT time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				bareT += do(bare.URL)
				tracedT += do(traced.URL)
			}
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(float64(bareT.Nanoseconds())/n, "ns/req-net/http")
			b.ReportMetric(float64(tracedT.Nanoseconds())/n, "ns/req-traced")
			b.ReportMetric(float64((tracedT-bareT).Nanoseconds())/n, "ns/req-added")
			b.ReportMetric(float64(tracedT)/float64(bareT), "ratio")
		})
	}
}

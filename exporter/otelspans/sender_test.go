package otelspans_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/flowtrace/flowtrace/exporter/otelspans"
)

// scripted is a backend whose answer to the n-th request (from 1) is
// given by answer; it decodes every request and counts the spans of those
// it accepts.
type scripted struct {
	srv      *httptest.Server
	answer   func(n int64, w http.ResponseWriter) (accepted bool)
	requests atomic.Int64
	accepted atomic.Int64
}

func newScripted(t *testing.T, answer func(n int64, w http.ResponseWriter) bool) *scripted {
	t.Helper()
	s := &scripted{answer: answer}
	r := &receiver{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n := s.requests.Add(1)
		if !s.answer(n, w) {
			return
		}
		before := len(r.all())
		r.serve(w, req)
		for _, rq := range r.all()[before:] {
			for _, rs := range rq.req.GetResourceSpans() {
				for _, ss := range rs.GetScopeSpans() {
					s.accepted.Add(int64(len(ss.GetSpans())))
				}
			}
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// errorsSeen collects what the exporter's error handler receives.
type errorsSeen struct {
	mu   sync.Mutex
	errs []error
}

func (e *errorsSeen) handle(err error) {
	e.mu.Lock()
	e.errs = append(e.errs, err)
	e.mu.Unlock()
}

func (e *errorsSeen) all() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]error(nil), e.errs...)
}

// endSpans ends n spans through the exporter's own tracer provider.
func endSpans(exp *otelspans.Exporter, n int) {
	tr := exp.TracerProvider().Tracer("test")
	for range n {
		_, s := tr.Start(context.Background(), "s")
		s.End()
	}
}

func flush(t *testing.T, exp *otelspans.Exporter) {
	t.Helper()
	f, ok := exp.TracerProvider().(interface{ ForceFlush(context.Context) error })
	require.True(t, ok, "NewOTLP's provider has ForceFlush")
	require.NoError(t, f.ForceFlush(deadline(t)))
}

func TestNewOTLPRetriesWhatTheBackendSaysIsRetryable(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		header string
	}{
		{"429 with Retry-After in seconds", http.StatusTooManyRequests, "1"},
		{"429 with Retry-After as a date", http.StatusTooManyRequests, time.Now().Add(time.Second).UTC().Format(http.TimeFormat)},
		{"503", http.StatusServiceUnavailable, ""},
		{"502", http.StatusBadGateway, ""},
		{"504", http.StatusGatewayTimeout, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearOTelEnv(t)
			b := newScripted(t, func(n int64, w http.ResponseWriter) bool {
				if n == 1 {
					if tc.header != "" {
						w.Header().Set("Retry-After", tc.header)
					}
					w.WriteHeader(tc.status)
					return false
				}
				return true
			})
			var seen errorsSeen
			exp, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(b.srv.URL+"/v1/traces"), otelspans.WithErrorHandler(seen.handle))
			require.NoError(t, err)
			endSpans(exp, 3)
			flush(t, exp)
			require.NoError(t, exp.Shutdown(deadline(t)))
			assert.Equal(t, int64(2), b.requests.Load(), "one refusal, then the retry")
			assert.Equal(t, int64(3), b.accepted.Load(), "the retry delivered every span")
			assert.Equal(t, otelspans.SpanStats{Ended: 3, Exported: 3}, exp.SpanStats())
			assert.Empty(t, seen.all(), "a retry that succeeds is no failure")
		})
	}
}

func TestNewOTLPCountsARefusalAsFailedWithoutRetrying(t *testing.T) {
	clearOTelEnv(t)
	b := newScripted(t, func(_ int64, w http.ResponseWriter) bool {
		http.Error(w, "bad request", http.StatusBadRequest)
		return false
	})
	var seen errorsSeen
	exp, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(b.srv.URL+"/v1/traces"), otelspans.WithErrorHandler(seen.handle))
	require.NoError(t, err)
	endSpans(exp, 4)
	flush(t, exp)
	err = exp.Shutdown(deadline(t))
	require.ErrorIs(t, err, otelspans.ErrExport)
	assert.Contains(t, err.Error(), "4 spans not exported")
	assert.Contains(t, err.Error(), "400")
	assert.Equal(t, int64(1), b.requests.Load(), "400 is permanent: not retried")
	assert.Equal(t, otelspans.SpanStats{Ended: 4, Failed: 4}, exp.SpanStats())
	require.Len(t, seen.all(), 1)
	assert.ErrorIs(t, seen.all()[0], otelspans.ErrExport)
	assert.Contains(t, seen.all()[0].Error(), "4 spans not exported")
}

func TestNewOTLPCountsTheSpansOfAPartialSuccess(t *testing.T) {
	clearOTelEnv(t)
	b := newScripted(t, func(_ int64, w http.ResponseWriter) bool {
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{PartialSuccess: &coltracepb.ExportTracePartialSuccess{
			RejectedSpans: 2, ErrorMessage: "2 spans too large",
		}})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
		return false
	})
	var seen errorsSeen
	exp, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(b.srv.URL+"/v1/traces"), otelspans.WithErrorHandler(seen.handle))
	require.NoError(t, err)
	endSpans(exp, 5)
	flush(t, exp)
	err = exp.Shutdown(deadline(t))
	require.ErrorIs(t, err, otelspans.ErrExport)
	assert.Equal(t, otelspans.SpanStats{Ended: 5, Exported: 3, Failed: 2}, exp.SpanStats())
	require.Len(t, seen.all(), 1, "the partial success is reported")
	assert.Contains(t, seen.all()[0].Error(), "2 spans not exported")
	assert.Contains(t, seen.all()[0].Error(), "2 spans too large", "with the backend's message")
}

func TestNewOTLPCountsSpansABackendThatIsDownNeverGot(t *testing.T) {
	clearOTelEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there now
	var seen errorsSeen
	exp, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL("http://"+addr+"/v1/traces"),
		otelspans.WithExportTimeout(2*time.Second), otelspans.WithErrorHandler(seen.handle))
	require.NoError(t, err)
	endSpans(exp, 3)
	flush(t, exp) // returns once the export has given up
	assert.Equal(t, otelspans.SpanStats{Ended: 3, Failed: 3}, exp.SpanStats())
	require.Len(t, seen.all(), 1)
	assert.Contains(t, seen.all()[0].Error(), "3 spans not exported")
	assert.Contains(t, seen.all()[0].Error(), "attempts", "it was retried")
	require.ErrorIs(t, exp.Shutdown(deadline(t)), otelspans.ErrExport)
}

func TestNewOTLPShutdownDoesNotHangOnAHungBackend(t *testing.T) {
	clearOTelEnv(t)
	gate := make(chan struct{})
	b := newScripted(t, func(int64, http.ResponseWriter) bool {
		<-gate
		return false
	})
	t.Cleanup(func() { close(gate) }) // before the server closes: cleanups run last first
	var seen errorsSeen
	exp, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(b.srv.URL+"/v1/traces"), otelspans.WithErrorHandler(seen.handle))
	require.NoError(t, err)
	endSpans(exp, 600) // a full batch, posted at once, and a partial one
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = exp.Shutdown(ctx)
	require.ErrorIs(t, err, otelspans.ErrExport)
	assert.Contains(t, err.Error(), "600 spans not exported")
	assert.Equal(t, otelspans.SpanStats{Ended: 600, Failed: 600}, exp.SpanStats(), "every span is counted")
	require.ErrorIs(t, exp.Shutdown(deadline(t)), otelspans.ErrExport, "a second Shutdown says the same")

	// A span ending after Shutdown is counted failed.
	endSpans(exp, 1)
	assert.Equal(t, otelspans.SpanStats{Ended: 601, Failed: 601}, exp.SpanStats())
}

func TestNewOTLPGzipIsAnOption(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint(on), func(t *testing.T) {
			clearOTelEnv(t)
			r := newReceiver(t)
			exp, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(r.srv.URL+"/v1/traces"), otelspans.WithGzip(on))
			require.NoError(t, err)
			endSpans(exp, 2)
			require.NoError(t, exp.Shutdown(deadline(t)))
			reqs := r.all()
			require.Len(t, reqs, 1)
			assert.Equal(t, on, reqs[0].gzipped)
			assert.Len(t, r.spans(), 2)
		})
	}
}

// TestNewOTLPCountsEverySpanUnderConcurrency: spans ending on many
// goroutines, a backend refusing every third request, Shutdown called
// while they end: each span is counted once, exported or failed, and the
// backend holds exactly the exported ones.
func TestNewOTLPCountsEverySpanUnderConcurrency(t *testing.T) {
	clearOTelEnv(t)
	b := newScripted(t, func(n int64, w http.ResponseWriter) bool {
		if n%3 == 0 {
			http.Error(w, "refused", http.StatusBadRequest)
			return false
		}
		return true
	})
	exp, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(b.srv.URL+"/v1/traces"),
		otelspans.WithErrorHandler(func(error) {}), otelspans.WithBatchTimeout(time.Millisecond))
	require.NoError(t, err)
	tr := exp.TracerProvider().Tracer("test")
	const goroutines, each = 6, 400
	var wg sync.WaitGroup
	halfway := make(chan struct{}, goroutines)
	for range goroutines {
		wg.Go(func() {
			for i := range each {
				ctx, parent := tr.Start(context.Background(), "parent")
				_, child := tr.Start(ctx, "child", trace.WithSpanKind(trace.SpanKindClient))
				child.AddEvent("e")
				child.End()
				parent.End()
				parent.End() // a second End does nothing
				if i == each/2 {
					f := exp.TracerProvider().(interface{ ForceFlush(context.Context) error })
					assert.NoError(t, f.ForceFlush(deadline(t)))
					halfway <- struct{}{}
				}
			}
		})
	}
	for range goroutines {
		<-halfway
	}
	_ = exp.Shutdown(deadline(t)) // while the goroutines end their second half

	wg.Wait()
	st := exp.SpanStats()
	assert.Equal(t, uint64(2*goroutines*each), st.Ended, "every span ended is counted")
	assert.Equal(t, st.Ended, st.Exported+st.Failed, "exported or failed: %+v", st)
	assert.Equal(t, uint64(b.accepted.Load()), st.Exported, "exported: what the backend accepted")
}

// TestNewOTLPBatchesAsTheSDKDoes: 512 spans a request at most; a batch
// that is not full is sent when the batch timeout passes, without a flush.
func TestNewOTLPBatchesAsTheSDKDoes(t *testing.T) {
	clearOTelEnv(t)
	r := newReceiver(t)
	exp, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(r.srv.URL+"/v1/traces"))
	require.NoError(t, err)
	endSpans(exp, 1100)
	flush(t, exp)
	var sizes []int
	for _, rq := range r.all() {
		sizes = append(sizes, len(rq.req.GetResourceSpans()[0].GetScopeSpans()[0].GetSpans()))
	}
	assert.Equal(t, []int{512, 512, 76}, sizes, "full batches, then what the flush found")
	require.NoError(t, exp.Shutdown(deadline(t)))

	got := make(chan struct{}, 1)
	b := newScripted(t, func(int64, http.ResponseWriter) bool {
		select {
		case got <- struct{}{}:
		default:
		}
		return true
	})
	exp, err = otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(b.srv.URL+"/v1/traces"),
		otelspans.WithBatchTimeout(10*time.Millisecond))
	require.NoError(t, err)
	endSpans(exp, 3)
	select {
	case <-got:
	case <-deadline(t).Done():
		t.Fatal("the batch timeout did not send the batch")
	}
	require.NoError(t, exp.Shutdown(deadline(t)))
	assert.Equal(t, int64(3), b.accepted.Load())
}

// TestNewOTLPReadsTheBatchProcessorsVariables: the OTEL_BSP_ variables
// the SDK's batch processor reads size NewOTLP's batches; a value that is
// not a positive integer is an error naming the variable.
func TestNewOTLPReadsTheBatchProcessorsVariables(t *testing.T) {
	clearOTelEnv(t)
	r := newReceiver(t)
	t.Setenv(otelspans.EnvBSPMaxExportBatch, "100")
	t.Setenv(otelspans.EnvBSPMaxQueueSize, "300")
	exp, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(r.srv.URL+"/v1/traces"))
	require.NoError(t, err)
	endSpans(exp, 250)
	flush(t, exp)
	require.NoError(t, exp.Shutdown(deadline(t)))
	var sizes []int
	for _, rq := range r.all() {
		sizes = append(sizes, len(rq.req.GetResourceSpans()[0].GetScopeSpans()[0].GetSpans()))
	}
	assert.Equal(t, []int{100, 100, 50}, sizes)

	for _, name := range []string{otelspans.EnvBSPScheduleDelay, otelspans.EnvBSPMaxQueueSize, otelspans.EnvTracesTimeout, otelspans.EnvTracesSampler} {
		t.Run(name, func(t *testing.T) {
			clearOTelEnv(t)
			t.Setenv(otelspans.EnvBSPMaxExportBatch, "")
			t.Setenv(otelspans.EnvBSPMaxQueueSize, "")
			t.Setenv(name, "5s")
			_, err := otelspans.NewOTLP(context.Background())
			require.Error(t, err)
			assert.Contains(t, err.Error(), name)
		})
	}
}

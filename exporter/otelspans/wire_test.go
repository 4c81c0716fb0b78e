package otelspans_test

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/otelspans"
)

// wireReceiver is an OTLP/HTTP receiver on 127.0.0.1 that holds every
// request until gate is closed (a collector that has stalled), and refuses
// every refuseEvery-th request with 400 Bad Request. It counts the spans it
// accepted.
type wireReceiver struct {
	srv         *httptest.Server
	gate        chan struct{}
	refuseEvery int64

	requests atomic.Int64
	accepted atomic.Int64 // spans
	refused  atomic.Int64 // spans
}

func newWireReceiver(t *testing.T, refuseEvery int64) *wireReceiver {
	t.Helper()
	r := &wireReceiver{gate: make(chan struct{}), refuseEvery: refuseEvery}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *wireReceiver) serve(w http.ResponseWriter, req *http.Request) {
	<-r.gate
	n := r.requests.Add(1)
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer zr.Close()
		body = zr
	}
	data, err := io.ReadAll(body)
	msg := &coltracepb.ExportTraceServiceRequest{}
	if err == nil {
		err = proto.Unmarshal(data, msg)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	spans := int64(0)
	for _, rs := range msg.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			spans += int64(len(ss.GetSpans()))
		}
	}
	if r.refuseEvery > 0 && n%r.refuseEvery == 0 {
		r.refused.Add(spans)
		http.Error(w, "refused", http.StatusBadRequest) // not retried
		return
	}
	r.accepted.Add(spans)
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// TestNewOTLPLosesNoSpanSilently: a collector that stalls while thousands
// of spans are ended, then accepts some batches and refuses others. Every
// span the runs made is either accepted by the collector or counted as not
// exported (in SpanStats, the error handler and Shutdown's error); none is
// dropped by the batch processor's full queue without a word.
func TestNewOTLPLosesNoSpanSilently(t *testing.T) {
	for _, tc := range []struct {
		name        string
		refuseEvery int64
	}{
		{"stalled collector", 0},
		{"stalled collector refusing every third batch", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearOTelEnv(t)
			const producers, runsEach, componentsEach = 8, 25, 20
			const spans = producers * runsEach * (1 + componentsEach)
			r := newWireReceiver(t, tc.refuseEvery)

			var mu sync.Mutex
			var reported []error
			exp, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(r.srv.URL+"/v1/traces"),
				otelspans.WithErrorHandler(func(err error) {
					mu.Lock()
					reported = append(reported, err)
					mu.Unlock()
				}))
			require.NoError(t, err)
			svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(exp),
				flowtrace.WithQueueSize(4*spans), // flowtrace's own queue drops nothing here
				flowtrace.WithErrorHandler(func(err error) { t.Errorf("flowtrace reported %v", err) }))
			require.NoError(t, err)

			var wg sync.WaitGroup
			for p := range producers {
				wg.Go(func() {
					for i := range runsEach {
						ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: fmt.Sprint("run ", p, i)})
						if !assert.NoError(t, err) {
							return
						}
						for range componentsEach {
							_, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "step"})
							c.End(nil)
						}
						// Ends the run without waiting for delivery, which
						// cannot finish while the collector is stalled.
						done, cancel := context.WithCancel(ctx)
						cancel()
						_, _ = svc.EndTracers(done, nil, nil)
					}
				})
			}
			wg.Wait()
			close(r.gate)                       // the collector comes back
			svcErr := svc.Shutdown(deadline(t)) // delivers every run to the bridge, then shuts it down

			// What the error handler was told, span by span.
			mu.Lock()
			var reportedSpans uint64
			for _, e := range reported {
				require.ErrorIs(t, e, otelspans.ErrExport)
				var n uint64
				_, err := fmt.Sscanf(e.Error(), otelspans.ErrExport.Error()+": %d spans", &n)
				require.NoError(t, err, "a report counts its spans: %v", e)
				reportedSpans += n
			}
			mu.Unlock()
			assert.Equal(t, uint64(spans), uint64(r.accepted.Load())+reportedSpans,
				"every span is accepted by the collector or reported as not exported")

			st := exp.SpanStats()
			assert.Equal(t, uint64(spans), st.Ended, "every span the runs made was ended")
			assert.Equal(t, uint64(r.accepted.Load()), st.Exported, "exported: what the collector accepted")
			assert.Equal(t, reportedSpans, st.Failed, "failed: what the error handler was told")
			assert.Equal(t, st.Ended, st.Exported+st.Failed, "nothing is left pending after Shutdown")
			if tc.refuseEvery == 0 {
				assert.NoError(t, svcErr)
				assert.Equal(t, int64(spans), r.accepted.Load(), "a collector that only stalled gets every span")
				return
			}
			assert.Equal(t, uint64(r.refused.Load()), st.Failed, "failed: what the collector refused")
			require.ErrorIs(t, svcErr, otelspans.ErrExport, "the service's Shutdown returns the bridge's count")
			assert.Contains(t, svcErr.Error(), fmt.Sprintf("%d spans not exported", st.Failed))
		})
	}
}

// TestNewOTLPBackpressureReachesFlowtrace: with a stalled collector and a
// small flowtrace queue, the batch processor's full queue holds the
// bridge's delivery, so flowtrace's queue fills and drops, counting each
// record; every span that was made reaches the collector.
func TestNewOTLPBackpressureReachesFlowtrace(t *testing.T) {
	clearOTelEnv(t)
	const producers, runsEach, componentsEach = 4, 25, 40
	r := newWireReceiver(t, 0)
	exp, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(r.srv.URL+"/v1/traces"),
		otelspans.WithErrorHandler(func(err error) { t.Errorf("otelspans reported %v", err) }))
	require.NoError(t, err)
	var queueFull atomic.Int64
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(exp), flowtrace.WithQueueSize(64),
		flowtrace.WithErrorHandler(func(err error) {
			if assert.ErrorIs(t, err, flowtrace.ErrQueueFull, "only drops are reported") {
				queueFull.Add(1)
			}
		}))
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range producers {
		wg.Go(func() {
			for range runsEach {
				ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
				if !assert.NoError(t, err) {
					return
				}
				for range componentsEach {
					_, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "step"})
					c.End(nil)
				}
				done, cancel := context.WithCancel(ctx)
				cancel()
				_, _ = svc.EndTracers(done, nil, nil)
			}
		})
	}
	wg.Wait()
	close(r.gate)
	require.NoError(t, svc.Shutdown(deadline(t)))

	d := svc.Stats().Exporters["otelspans"]
	assert.Positive(t, d.Dropped, "flowtrace's queue dropped, behind the bridge's wait: %+v", d)
	assert.Equal(t, d.Emitted, d.Delivered+d.Dropped+d.Failed, "every record counted: %+v", d)
	assert.Positive(t, queueFull.Load(), "the drops were reported")
	st := exp.SpanStats()
	assert.Equal(t, st.Ended, st.Exported, "every span made was exported: %+v", st)
	assert.Equal(t, uint64(r.accepted.Load()), st.Exported, "and the collector has them all")
}

package otelspans_test

// Review of NewOTLP (issue 20, target 1): defects found in its sender and
// configuration, each test named for one. They fail until the defect is
// fixed.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/flowtrace/flowtrace/exporter/otelspans"
)

// A backend answering 307 to another host gets the request again, with
// every header but Authorization and Cookie: LangSmith's x-api-key, Opik's
// Comet-Workspace, or any key set with WithHeaders or
// OTEL_EXPORTER_OTLP_HEADERS goes to a host the user never configured,
// over plain HTTP if the redirect says so. The sender's http.Client
// follows redirects (otlp.go NewOTLP, q.client without CheckRedirect).
func TestReviewOTLPRedirectForwardsAPIKeyToAnotherHost(t *testing.T) {
	clearOTelEnv(t)
	var mu sync.Mutex
	var leaked []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		leaked = append(leaked, r.Header.Get("X-Api-Key"))
		mu.Unlock()
	}))
	t.Cleanup(other.Close)
	u, err := url.Parse(other.URL)
	require.NoError(t, err)
	target := "http://localhost:" + u.Port() + "/collect" // another host name than 127.0.0.1
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(first.Close)

	exp, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(first.URL+"/v1/traces"),
		otelspans.WithHeaders(map[string]string{"x-api-key": "lsv2_sk_secret"}), otelspans.WithErrorHandler(func(error) {}))
	require.NoError(t, err)
	endSpans(exp, 1)
	_ = exp.Shutdown(deadline(t))
	mu.Lock()
	defer mu.Unlock()
	for _, v := range leaked {
		assert.Empty(t, v, "the API key reached a host it was not configured for")
	}
}

// A header value holding a control character (here a NUL, from
// WithHeaders or a percent-encoded OTEL_EXPORTER_OTLP_HEADERS) is
// accepted by NewOTLP; every export then fails in the transport, and is
// retried as if the network had failed (sender.go retryable). It should be
// an error from NewOTLP naming the header, never its value.
func TestReviewOTLPInvalidHeaderValueIsNotAConstructionError(t *testing.T) {
	clearOTelEnv(t)
	b := newScripted(t, func(int64, http.ResponseWriter) bool { return true })
	_, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(b.srv.URL+"/v1/traces"),
		otelspans.WithHeaders(map[string]string{"X-Api-Key": "sk-secret\x00"}))
	if assert.Error(t, err, "WithHeaders") {
		assert.NotContains(t, err.Error(), "sk-secret")
	}

	t.Setenv(otelspans.EnvHeaders, "x-api-key=sk-secret%00")
	_, err = otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(b.srv.URL+"/v1/traces"))
	if assert.Error(t, err, otelspans.EnvHeaders) {
		assert.NotContains(t, err.Error(), "sk-secret")
	}

	_, err = otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(b.srv.URL+"/v1/traces"),
		otelspans.WithHeaders(map[string]string{"X Api(Key)": "v"}))
	assert.Error(t, err, "a header name that is no HTTP token")
}

// The OTLP specification: a partial success with rejected_spans 0 and a
// message is a warning, the request fully accepted. NewOTLP reports it
// to the error handler as ErrExport, "0 spans not exported" (sender.go
// export calls fail(0, ...)), and the last such warning would become
// Shutdown's "last because".
func TestReviewOTLPPartialSuccessWarningReportedAsExportFailure(t *testing.T) {
	clearOTelEnv(t)
	b := newScripted(t, func(_ int64, w http.ResponseWriter) bool {
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{PartialSuccess: &coltracepb.ExportTracePartialSuccess{
			ErrorMessage: "deprecated attribute keys",
		}})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
		return false
	})
	var seen errorsSeen
	exp, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(b.srv.URL+"/v1/traces"), otelspans.WithErrorHandler(seen.handle))
	require.NoError(t, err)
	endSpans(exp, 3)
	require.NoError(t, exp.Shutdown(deadline(t)))
	assert.Equal(t, otelspans.SpanStats{Ended: 3, Exported: 3}, exp.SpanStats())
	for _, err := range seen.all() {
		assert.NotErrorIs(t, err, otelspans.ErrExport, "a warning is no failed export: %v", err)
	}
}

// A Retry-After of 18446744074 seconds (about 584 years: the backend asks
// the client to go away) overflows time.Duration in sender.go retryAfter
// to about 0.29 s, so NewOTLP sends again and again within the export
// timeout instead of giving the batch up at once, as it does for any
// other Retry-After beyond the timeout.
func TestReviewOTLPRetryAfterOverflowRetriesAtOnce(t *testing.T) {
	clearOTelEnv(t)
	b := newScripted(t, func(_ int64, w http.ResponseWriter) bool {
		w.Header().Set("Retry-After", "18446744074")
		w.WriteHeader(http.StatusTooManyRequests)
		return false
	})
	exp, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(b.srv.URL+"/v1/traces"),
		otelspans.WithExportTimeout(2e9), otelspans.WithErrorHandler(func(error) {}))
	require.NoError(t, err)
	endSpans(exp, 1)
	require.ErrorIs(t, exp.Shutdown(deadline(t)), otelspans.ErrExport)
	assert.Equal(t, int64(1), b.requests.Load(), "a Retry-After past the export timeout gives the batch up")
}

// Go's transport may still be writing a request's body after Do returned
// its response (a backend that answers before reading the whole body);
// RoundTrip's contract says so. The sender then encodes the next batch
// into the same buffer (sender.go encodeRequest: q.body[:0], q.zbuf.Reset)
// while the transport reads it: a data race, and a corrupt request on the
// wire. Run with -race.
func TestReviewOTLPRequestBufferReusedWhileTransportWritesIt(t *testing.T) {
	clearOTelEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest) // refused before the body is read
	}))
	t.Cleanup(srv.Close)
	exp, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(srv.URL+"/v1/traces"),
		otelspans.WithGzip(false), otelspans.WithErrorHandler(func(error) {}))
	require.NoError(t, err)
	big := attribute.String("payload", strings.Repeat("x", 256<<10))
	tr := exp.TracerProvider().Tracer("test")
	for range 8 {
		for range 32 { // 8 MiB a batch
			_, s := tr.Start(context.Background(), "s", trace.WithAttributes(big))
			s.End()
		}
		flush(t, exp)
	}
	err = exp.Shutdown(deadline(t))
	require.ErrorIs(t, err, otelspans.ErrExport)
	assert.Equal(t, uint64(8*32), exp.SpanStats().Failed)
}

// A nil *Exporter's methods are nil-safe (Name, StartRun, SpanStats,
// Shutdown) except TracerProvider, which panics; a zero Exporter's
// returns a nil provider, on which Tracer panics.
func TestReviewOTLPNilExporterTracerProviderPanics(t *testing.T) {
	var nilExp *otelspans.Exporter
	assert.NotPanics(t, func() { _ = nilExp.TracerProvider() }, "nil Exporter")
	assert.NotPanics(t, func() { _ = (&otelspans.Exporter{}).TracerProvider().Tracer("x") }, "zero Exporter")
}

// NewOTLP makes every string of a span valid UTF-8, and its tracer's scope
// name and version, because a receiver refuses a whole request for one
// invalid string; but not a tracer's schema URL (sender.go encodeRequest
// writes s.t.schemaURL as given). One tracer of TracerProvider() with such
// a schema URL makes every batch holding one of its spans refused, the
// bridge's own spans in it too.
func TestReviewOTLPInvalidUTF8SchemaURLLosesTheWholeBatch(t *testing.T) {
	clearOTelEnv(t)
	r := newReceiver(t)
	exp, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(r.srv.URL+"/v1/traces"), otelspans.WithErrorHandler(func(error) {}))
	require.NoError(t, err)
	tp := exp.TracerProvider()
	_, bad := tp.Tracer("lib", trace.WithSchemaURL("https://opentelemetry.io/schemas/\xff")).Start(context.Background(), "bad scope")
	bad.End()
	_, good := tp.Tracer("other").Start(context.Background(), "good scope")
	good.End()
	_ = exp.Shutdown(deadline(t))
	assert.Equal(t, otelspans.SpanStats{Ended: 2, Exported: 2}, exp.SpanStats())
	assert.Len(t, r.spans(), 2)
}

// The SDK's provider returns one tracer per instrumentation scope, scope
// attributes included, and its exporter sends one ScopeSpans per scope.
// NewOTLP's provider makes a new tracer at every Tracer call with
// attributes (otlptracer.go Tracer caches only scopes without them), and
// the batch groups spans by tracer pointer (sender.go batch.spans): code
// that calls Tracer per request sends one ScopeSpans, scope repeated, per
// span, and the batch's linear search for its scope grows with each.
func TestReviewOTLPTracerWithScopeAttributesIsNotReused(t *testing.T) {
	clearOTelEnv(t)
	r := newReceiver(t)
	exp, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(r.srv.URL+"/v1/traces"))
	require.NoError(t, err)
	tp := exp.TracerProvider()
	scopeAttrs := trace.WithInstrumentationAttributes(attribute.String("component", "db"))
	for range 3 {
		_, s := tp.Tracer("lib", scopeAttrs).Start(context.Background(), "query")
		s.End()
	}
	require.NoError(t, exp.Shutdown(deadline(t)))
	assert.Same(t, tp.Tracer("lib", scopeAttrs), tp.Tracer("lib", scopeAttrs), "one tracer per scope, as the SDK's")
	reqs := r.all()
	require.Len(t, reqs, 1)
	assert.Len(t, reqs[0].req.GetResourceSpans()[0].GetScopeSpans(), 1, "one ScopeSpans for one scope")
}

// OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_BSP_SCHEDULE_DELAY and
// OTEL_BSP_EXPORT_TIMEOUT are milliseconds; a large one passes Atoi and
// its check for a positive integer, then overflows time.Duration
// (otlp.go batchingFromEnv: time.Duration(n) * time.Millisecond) into a
// negative duration: a negative export timeout fails every export at once,
// a negative schedule delay makes the sending goroutine spin on a timer
// that always fires. Either is a clear error from NewOTLP, or clamped.
func TestReviewOTLPEnvMillisecondsOverflow(t *testing.T) {
	for _, name := range []string{otelspans.EnvTimeout, otelspans.EnvBSPScheduleDelay} {
		t.Run(name, func(t *testing.T) {
			clearOTelEnv(t)
			r := newReceiver(t)
			t.Setenv(name, "10000000000000") // 317 years, beyond time.Duration
			exp, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(r.srv.URL+"/v1/traces"), otelspans.WithErrorHandler(func(error) {}))
			if err != nil {
				assert.Contains(t, err.Error(), name)
				return
			}
			endSpans(exp, 1)
			_ = exp.Shutdown(deadline(t))
			assert.Equal(t, otelspans.SpanStats{Ended: 1, Exported: 1}, exp.SpanStats(), "accepted, so it must work")
			t.Errorf("%s overflowing time.Duration was accepted", name)
		})
	}
}

// Shutdown honours its ctx, its doc says; but its first call waits for
// the sending goroutine unconditionally (sender.go shutdown: <-q.done),
// and that goroutine calls the error handler synchronously, watching no
// ctx. An error handler that blocks (a slow log sink) holds Shutdown past
// its deadline; one that calls Shutdown itself deadlocks for good.
func TestReviewOTLPShutdownIgnoresCtxWhileTheErrorHandlerRuns(t *testing.T) {
	clearOTelEnv(t)
	b := newScripted(t, func(_ int64, w http.ResponseWriter) bool {
		w.WriteHeader(http.StatusBadRequest)
		return false
	})
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	exp, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(b.srv.URL+"/v1/traces"),
		otelspans.WithErrorHandler(func(error) {
			once.Do(func() { close(entered) })
			<-release
		}))
	require.NoError(t, err)
	endSpans(exp, 1)
	go func() {
		_ = exp.TracerProvider().(interface{ ForceFlush(context.Context) error }).ForceFlush(context.Background())
	}()
	<-entered // the sending goroutine is in the handler

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	returned := make(chan struct{})
	go func() { defer close(returned); _ = exp.Shutdown(ctx) }()
	select {
	case <-returned:
	case <-time.After(testDeadline / 3):
		t.Errorf("Shutdown still waiting %v after its ctx ended", testDeadline/3)
	}
	close(release)
	<-returned
}

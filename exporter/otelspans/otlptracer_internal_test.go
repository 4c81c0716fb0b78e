package otelspans

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

// spanSink is an OTLP/HTTP receiver keeping every span it decodes, with
// its scope, by span ID.
type spanSink struct {
	srv   *httptest.Server
	mu    sync.Mutex
	spans map[string]*tracepb.ScopeSpans // one span each
}

func newSpanSink(t *testing.T) *spanSink {
	k := &spanSink{spans: make(map[string]*tracepb.ScopeSpans)}
	k.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		data, _ := io.ReadAll(body)
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(data, &req); err != nil {
			t.Errorf("receiver: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		k.mu.Lock()
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					k.spans[hex.EncodeToString(s.GetSpanId())] = &tracepb.ScopeSpans{Scope: ss.GetScope(), SchemaUrl: ss.GetSchemaUrl(), Spans: []*tracepb.Span{s}}
				}
			}
		}
		k.mu.Unlock()
	}))
	t.Cleanup(k.srv.Close)
	return k
}

// useTracerAPI exercises every method of a tracer and its spans, with the
// IDs and times fixed, as a user of TracerProvider might.
func useTracerAPI(tp trace.TracerProvider, bad string) {
	t0 := time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tid := trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	sid := func(n byte) trace.SpanID { return trace.SpanID{0xaa, 0, 0, 0, 0, 0, 0, n} }
	ids := func(ctx context.Context, n byte) context.Context { return contextWithIDs(ctx, tid, sid(n)) }

	tr := tp.Tracer("lib", trace.WithInstrumentationVersion("1.2.3"), trace.WithSchemaURL("https://opentelemetry.io/schemas/1.26.0"))
	plain := tp.Tracer(instrumentationName)

	ctx, root := tr.Start(ids(context.Background(), 1), "root", trace.WithTimestamp(at(0)), trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("s", "v"), attribute.Int("i", -7), attribute.Float64("f", 0.5), attribute.Bool("b", false),
			attribute.StringSlice("ss", []string{"a", "", "c"}), attribute.IntSlice("is", []int{1, -2}), attribute.Float64Slice("fs", []float64{1.5}),
			attribute.BoolSlice("bs", []bool{true, false}), attribute.String("", "empty key is dropped"), attribute.String("bad"+bad, "x"+bad+"y")),
		trace.WithLinks(trace.Link{SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid(99), TraceFlags: trace.FlagsSampled, Remote: true}),
			Attributes: []attribute.KeyValue{attribute.String("link", "l")}}))
	root.SetAttributes(attribute.String("s", "again"), attribute.Int64("late", 1), attribute.ByteSlice("bytes", []byte{0, 1, 2}),
		attribute.Slice("mixed", attribute.StringValue("a"+bad), attribute.Int64Value(2), attribute.SliceValue(attribute.BoolValue(true))),
		attribute.Map("map", attribute.String("k", "v"), attribute.Map("inner", attribute.Float64("f", 2.5))),
		attribute.String("huge", strings.Repeat("x", 3<<20))) // a span over 2 MiB: its length takes 4 bytes
	root.SetName("root renamed " + bad)
	root.AddEvent("ev", trace.WithTimestamp(at(1)), trace.WithAttributes(attribute.String("k", "1"), attribute.String("k", "2")))
	root.RecordError(errors.New("boom"), trace.WithTimestamp(at(2)))
	root.SetStatus(codes.Error, "failed")
	root.SetStatus(codes.Ok, "ignored description")
	root.SetStatus(codes.Error, "too late: Ok is final")
	root.AddLink(trace.Link{SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid(98)})})
	root.AddLink(trace.Link{}) // dropped: nothing in it

	// Over the limits: attributes, events, attributes of an event.
	_, big := plain.Start(ids(ctx, 2), "big", trace.WithTimestamp(at(3)))
	for i := range 140 {
		big.SetAttributes(attribute.Int(fmt.Sprint("a", i%135), i))
	}
	many := make([]attribute.KeyValue, 130)
	for i := range many {
		many[i] = attribute.Int(fmt.Sprint("e", i), i)
	}
	for i := range 130 {
		big.AddEvent(fmt.Sprint("event ", i), trace.WithTimestamp(at(4+i)), trace.WithAttributes(many...))
	}
	big.SetStatus(codes.Error, "")
	big.End(trace.WithTimestamp(at(200)))

	// A remote parent with a trace state, one not sampled, a new root.
	ts, _ := trace.ParseTraceState("vendor=x,other=y")
	remote := trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{9, 9}, SpanID: trace.SpanID{8, 8}, TraceFlags: trace.FlagsSampled | trace.FlagsRandom, TraceState: ts, Remote: true}))
	_, child := tr.Start(ids(remote, 3), "remote child", trace.WithTimestamp(at(5)), trace.WithSpanKind(trace.SpanKindConsumer))
	child.End(trace.WithTimestamp(at(6)))
	dropped := trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{7}, SpanID: trace.SpanID{7}, Remote: true}))
	_, unsampled := tr.Start(ids(dropped, 4), "unsampled", trace.WithTimestamp(at(5)))
	unsampled.End(trace.WithTimestamp(at(6)))
	_, fresh := tr.Start(ids(ctx, 5), "new root", trace.WithNewRoot(), trace.WithTimestamp(at(7)), trace.WithSpanKind(trace.SpanKind(42)))
	fresh.End(trace.WithTimestamp(at(8)))

	root.End(trace.WithTimestamp(at(300)))
	root.End(trace.WithTimestamp(at(400))) // ignored
	root.SetName("ignored after End")
}

// TestNewOTLPTracerMatchesTheSDKs: every method of the tracer NewOTLP's
// provider gives behaves as the SDK's, limits, duplicate keys, status
// rules, links, remote parents and unsampled parents included, down to
// the order of attributes; strings that are not valid UTF-8 (which the
// SDK's exporter cannot send) are sent with the invalid bytes replaced.
func TestNewOTLPTracerMatchesTheSDKs(t *testing.T) {
	for _, tc := range []struct {
		sampler, arg string
		spans        int // -1: whatever the SDK's sampler decides
	}{
		{"", "", 4}, {"always_off", "", 0}, {"traceidratio", "0.5", -1}, {"parentbased_traceidratio", "0.5", -1}, {"always_on", "", 5},
	} {
		t.Run(tc.sampler, func(t *testing.T) {
			t.Setenv(EnvTracesSampler, tc.sampler)
			t.Setenv(EnvTracesSamplerArg, tc.arg)
			matchTheSDK(t, tc.spans)
		})
	}
}

// matchTheSDK runs useTracerAPI through the SDK and NewOTLP and compares
// the spans; want is how many the SDK sends (-1: any number).
func matchTheSDK(t *testing.T, want int) {
	ours, theirs := newSpanSink(t), newSpanSink(t)
	cfg := newConfig([]Option{WithServiceName("api")})
	res, err := buildResource(context.Background(), &cfg)
	require.NoError(t, err)
	sdkExp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(theirs.srv.URL+"/v1/traces"))
	require.NoError(t, err)
	sampler, err := samplerFromEnv()
	require.NoError(t, err)
	opts := []sdktrace.TracerProviderOption{sdktrace.WithBatcher(sdkExp), sdktrace.WithResource(res), sdktrace.WithIDGenerator(IDGenerator())}
	if sampler != nil {
		opts = append(opts, sdktrace.WithSampler(sampler))
	}
	sdk := sdktrace.NewTracerProvider(opts...)
	exp, err := NewOTLP(context.Background(), WithEndpointURL(ours.srv.URL+"/v1/traces"), WithServiceName("api"),
		WithErrorHandler(func(err error) { t.Errorf("NewOTLP reported %v", err) }))
	require.NoError(t, err)

	useTracerAPI(sdk, "\uFFFD") // the SDK's exporter fails a whole batch for invalid UTF-8
	useTracerAPI(exp.TracerProvider(), "\xff")
	require.NoError(t, sdk.Shutdown(context.Background()))
	require.NoError(t, exp.Shutdown(context.Background()))

	if want >= 0 {
		require.Len(t, theirs.spans, want, "the SDK's spans: root, big, remote child, new root (and, always on, the one of an unsampled parent)")
	}
	require.Len(t, ours.spans, len(theirs.spans))
	for id, sdkSpan := range theirs.spans {
		got := ours.spans[id]
		if !assert.NotNil(t, got, "span %s", id) {
			continue
		}
		assert.True(t, proto.Equal(sdkSpan, got), "span %s differs:\nSDK:     %s\nNewOTLP: %s", sdkSpan.Spans[0].GetName(), prototext.Format(sdkSpan), prototext.Format(got))
	}
	n := uint64(len(theirs.spans))
	assert.Equal(t, SpanStats{Ended: n, Exported: n}, exp.SpanStats())
}

package otelspans

// Review of NewOTLP (issue 20, target 1): defects found in its tracer, each
// test named for one. They fail until the defect is fixed.

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// bothTracers runs use against the SDK (with its OTLP/HTTP exporter) and
// against NewOTLP's provider, and returns what each receiver got, by span
// name.
func bothTracers(t *testing.T, use func(tp trace.TracerProvider)) (sdk, ours map[string]*tracepb.ScopeSpans) {
	t.Helper()
	theirSink, ourSink := newSpanSink(t), newSpanSink(t)
	sdkExp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(theirSink.srv.URL+"/v1/traces"))
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(sdkExp), sdktrace.WithIDGenerator(IDGenerator()))
	exp, err := NewOTLP(context.Background(), WithEndpointURL(ourSink.srv.URL+"/v1/traces"), WithServiceName("api"))
	require.NoError(t, err)
	use(tp)
	use(exp.TracerProvider())
	require.NoError(t, tp.Shutdown(context.Background()))
	require.NoError(t, exp.Shutdown(context.Background()))
	byName := func(k *spanSink) map[string]*tracepb.ScopeSpans {
		k.mu.Lock()
		defer k.mu.Unlock()
		out := make(map[string]*tracepb.ScopeSpans)
		for _, ss := range k.spans {
			out[ss.Spans[0].GetName()] = ss
		}
		return out
	}
	return byName(theirSink), byName(ourSink)
}

func eventAttrKeys(s *tracepb.Span) []string {
	var keys []string
	for _, e := range s.GetEvents() {
		for _, kv := range e.GetAttributes() {
			keys = append(keys, e.GetName()+"/"+kv.GetKey())
		}
	}
	return keys
}

// RecordError(err, trace.WithStackTrace(true)) adds exception.stacktrace
// in the SDK; NewOTLP's span drops the option (otlptracer.go RecordError).
func TestReviewOTLPRecordErrorDropsWithStackTrace(t *testing.T) {
	sdk, ours := bothTracers(t, func(tp trace.TracerProvider) {
		_, s := tp.Tracer("lib").Start(context.Background(), "failing")
		s.RecordError(errors.New("boom"), trace.WithStackTrace(true))
		s.End()
	})
	require.Contains(t, sdk, "failing")
	require.Contains(t, ours, "failing")
	assert.Contains(t, eventAttrKeys(sdk["failing"].Spans[0]), "exception/exception.stacktrace", "the SDK records the stack")
	assert.Equal(t, eventAttrKeys(sdk["failing"].Spans[0]), eventAttrKeys(ours["failing"].Spans[0]))
}

// A span ended in a deferred End while its goroutine panics gets an
// "exception" event in the SDK (and the panic goes on); NewOTLP's span has
// none (otlptracer.go EndAt never recovers).
func TestReviewOTLPEndDuringPanicRecordsNoException(t *testing.T) {
	sdk, ours := bothTracers(t, func(tp trace.TracerProvider) {
		func() {
			defer func() { _ = recover() }()
			_, s := tp.Tracer("lib").Start(context.Background(), "panicking")
			defer s.End()
			panic("boom")
		}()
	})
	require.Contains(t, sdk, "panicking")
	require.Contains(t, ours, "panicking")
	assert.Contains(t, eventAttrKeys(sdk["panicking"].Spans[0]), "exception/exception.message", "the SDK records the panic")
	assert.Equal(t, eventAttrKeys(sdk["panicking"].Spans[0]), eventAttrKeys(ours["panicking"].Spans[0]))
}

// Tracer("") is the SDK's tracer named "go.opentelemetry.io/otel/sdk/tracer";
// NewOTLP's sends its spans with no scope at all (encodeScope returns nil
// for an empty name).
func TestReviewOTLPTracerWithEmptyNameHasNoScope(t *testing.T) {
	sdk, ours := bothTracers(t, func(tp trace.TracerProvider) {
		_, s := tp.Tracer("").Start(context.Background(), "unnamed tracer")
		s.End()
	})
	require.Contains(t, sdk, "unnamed tracer")
	require.Contains(t, ours, "unnamed tracer")
	assert.Equal(t, sdk["unnamed tracer"].GetScope().GetName(), ours["unnamed tracer"].GetScope().GetName())
}

// The SDK keeps at most 128 events per span, and 128 attributes per event:
// a span's memory is bounded while it is open. NewOTLP's record appends
// every event's attributes to its arena, the dropped events' and the
// dropped attributes' too (otlptracer.go addEvent), so a long-lived span
// grows without bound until it ends, and the pooled record keeps the
// arena's capacity.
func TestReviewOTLPSpanArenaGrowsPastTheEventLimits(t *testing.T) {
	sink := newSpanSink(t)
	exp, err := NewOTLP(context.Background(), WithEndpointURL(sink.srv.URL+"/v1/traces"), WithErrorHandler(func(error) {}))
	require.NoError(t, err)
	defer func() { _ = exp.Shutdown(context.Background()) }()
	_, s := exp.TracerProvider().Tracer("lib").Start(context.Background(), "long lived")
	span := s.(*otlpSpan)
	for i := range 10_000 {
		s.AddEvent("tick", trace.WithAttributes(attribute.Int("i", i)))
	}
	wide := make([]attribute.KeyValue, 10_000)
	for i := range wide {
		wide[i] = attribute.Int(fmt.Sprint("k", i), i)
	}
	s.AddEvent("wide", trace.WithAttributes(wide...))
	span.mu.Lock()
	n := len(span.rec.arena)
	span.mu.Unlock()
	// 127 kept events of one attribute, one of 128.
	assert.LessOrEqual(t, n, (eventCountLimit-1)+attrPerEventLimit, "attributes held for 128 events")
	s.End()
}

// The SDK (v1.47) normalises SLICE and MAP attribute values: a map's
// duplicate keys removed, a value nested deeper than 64 levels replaced by
// an empty one (AttributeValueDepthLimit), on span, event and link
// attributes. NewOTLP's tracer sends them as given (otlptracer.go
// setAttributes, addEvent, addLink), so the spans differ, and a hostile
// nesting depth reaches the encoder's recursion unbounded.
func TestReviewOTLPMapAndSliceValuesAreNotNormalised(t *testing.T) {
	deep := attribute.StringValue("leaf")
	for range 70 {
		deep = attribute.SliceValue(deep)
	}
	kvs := []attribute.KeyValue{
		attribute.Map("m", attribute.String("a", "1"), attribute.String("a", "2")),
		{Key: "deep", Value: deep},
	}
	sdk, ours := bothTracers(t, func(tp trace.TracerProvider) {
		_, s := tp.Tracer("lib").Start(context.Background(), "nested", trace.WithAttributes(kvs...))
		s.AddEvent("ev", trace.WithAttributes(kvs...))
		s.End()
	})
	require.Contains(t, sdk, "nested")
	require.Contains(t, ours, "nested")
	w, g := sdk["nested"].Spans[0], ours["nested"].Spans[0]
	require.Len(t, g.Attributes, len(w.Attributes))
	for i := range w.Attributes {
		assert.True(t, proto.Equal(w.Attributes[i], g.Attributes[i]), "span attribute %s differs", w.Attributes[i].GetKey())
	}
	for _, e := range append(append([]*tracepb.Span_Event(nil), w.Events...), g.Events...) {
		e.TimeUnixNano = 0 // two calls, two times: the attributes are compared
	}
	assert.True(t, proto.Equal(&tracepb.Span{Events: w.Events}, &tracepb.Span{Events: g.Events}), "event attributes differ")
}

// A burst of large spans leaves the sender holding buffers of their size
// for the exporter's lifetime: each batch returns to the free list with its
// spans' capacity (sender.go sendSealed), and the request buffers q.body
// and q.zbuf keep the largest request's (encodeRequest). The SDK's
// exporter allocates per request and keeps nothing. After a flush, what
// the sender retains should not depend on the largest batch it sent.
func TestReviewOTLPSenderRetainsItsLargestBatchesForever(t *testing.T) {
	sink := newSpanSink(t)
	exp, err := NewOTLP(context.Background(), WithEndpointURL(sink.srv.URL+"/v1/traces"), WithGzip(false))
	require.NoError(t, err)
	defer func() { require.NoError(t, exp.Shutdown(context.Background())) }()
	big := attribute.String("payload", string(make([]byte, 16<<10)))
	tr := exp.TracerProvider().Tracer("lib")
	for range 2 * 512 { // 2 batches of 8 MiB
		_, s := tr.Start(context.Background(), "big", trace.WithAttributes(big))
		s.End()
	}
	require.NoError(t, exp.TracerProvider().(*otlpProvider).ForceFlush(context.Background()))

	q := exp.otlp
	q.mu.Lock()
	retained := cap(q.cur.scopes) // the batches' buffers
	for _, b := range append(append([]*batch{q.cur}, q.free...), q.sealed...) {
		for _, s := range b.scopes[:cap(b.scopes)] {
			retained += cap(s.spans)
		}
	}
	q.mu.Unlock()
	retained += cap(q.body) + q.zbuf.Cap() // the goroutine is idle after the flush
	assert.Less(t, retained, 4<<20, "bytes the idle sender keeps after a burst of 16 MiB")
}

package otelspans_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
	"github.com/flowtrace/flowtrace/exporter/otelspans"
)

const testDeadline = 30 * time.Second

func deadline(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	t.Cleanup(cancel)
	return ctx
}

// bridge is a TraceService delivering to otelspans (over an SDK provider
// with a span recorder) and to a memory exporter, to compare the two.
type bridge struct {
	svc   *flowtrace.TraceService
	spans *tracetest.SpanRecorder
	tp    *sdktrace.TracerProvider
	rec   *memory.Exporter
	errs  chan error
}

func newBridge(t testing.TB, spanOpts []otelspans.Option, tpOpts ...sdktrace.TracerProviderOption) *bridge {
	t.Helper()
	b := &bridge{spans: tracetest.NewSpanRecorder(), rec: memory.New(), errs: make(chan error, 1000)}
	b.tp = sdktrace.NewTracerProvider(append([]sdktrace.TracerProviderOption{sdktrace.WithSpanProcessor(b.spans)}, tpOpts...)...)
	var err error
	b.svc, err = flowtrace.NewTraceService(
		flowtrace.WithExporter(otelspans.New(b.tp, spanOpts...)),
		flowtrace.WithExporter(b.rec),
		flowtrace.WithOverflow(flowtrace.BlockFor(time.Minute)),
		flowtrace.WithErrorHandler(func(err error) {
			select {
			case b.errs <- err:
			default:
			}
		}),
	)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, b.svc.Shutdown(deadline(t)))
		require.NoError(t, b.tp.Shutdown(deadline(t)))
		select {
		case err := <-b.errs:
			t.Errorf("error handler received %v", err)
		default:
		}
	})
	return b
}

// withIDs is the provider option that makes the SDK use flowtrace's ids.
var withIDs = sdktrace.WithIDGenerator(otelspans.IDGenerator())

func (b *bridge) end(t testing.TB, ctx context.Context, outputs map[string]any, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, testDeadline)
	defer cancel()
	_, e := b.svc.EndTracers(ctx, outputs, err)
	require.NoError(t, e)
}

// byName returns the ended span with the given name, failing unless there
// is exactly one.
func (b *bridge) byName(t testing.TB, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	var found []sdktrace.ReadOnlySpan
	for _, s := range b.spans.Ended() {
		if s.Name() == name {
			found = append(found, s)
		}
	}
	require.Len(t, found, 1, "want exactly one span named %q", name)
	return found[0]
}

func attrs(s sdktrace.ReadOnlySpan) map[string]attribute.Value {
	m := make(map[string]attribute.Value)
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value
	}
	return m
}

func str(t testing.TB, s sdktrace.ReadOnlySpan, key string) string {
	t.Helper()
	v, ok := attrs(s)[key]
	require.True(t, ok, "span %q has no attribute %s; has %v", s.Name(), key, s.Attributes())
	return v.AsString()
}

package otelspans_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/otelspans"
	"github.com/flowtrace/flowtrace/tracing"
)

// TestHTTPSpans: a run whose metadata describe an HTTP request (what
// tracing.Middleware records) is a server span, a component that does
// (tracing.Transport's) a client span, each with the HTTP attributes as
// attributes of their own; anything else stays internal.
func TestHTTPSpans(t *testing.T) {
	for _, conv := range []struct {
		name string
		opts []otelspans.Option
	}{{"default", nil}, {"OpenInference", []otelspans.Option{otelspans.WithConventions(otelspans.OpenInference)}}} {
		t.Run(conv.name, func(t *testing.T) {
			b := newBridge(t, conv.opts)
			ctx, err := b.svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "GET /items/7", Metadata: map[string]any{
				tracing.KeyMethod: "GET", tracing.KeyPath: "/items/7", tracing.KeyHost: "shop.test",
			}})
			require.NoError(t, err)
			_, plain := b.svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "plain"})
			plain.End(nil)
			_, fetch := b.svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "GET db.test", Type: tracing.TypeHTTPClient, Metadata: map[string]any{
				tracing.KeyMethod: "GET", tracing.KeyURL: "http://db.test:8080/q", tracing.KeyHost: "db.test", tracing.KeyPort: 8080,
			}})
			fetch.End(nil)
			_, failed := b.svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "POST down.test", Metadata: map[string]any{tracing.KeyMethod: "POST"}})
			failed.End(errors.New("dial tcp: connection refused"))
			b.end(t, ctx, map[string]any{tracing.KeyStatusCode: 500, tracing.KeyRoute: "/items/{id}", tracing.KeyErrorType: "500"}, errors.New("tracing: server error status: 500"))

			server := b.byName(t, "GET /items/7")
			assert.Equal(t, trace.SpanKindServer, server.SpanKind())
			assert.Subset(t, server.Attributes(), []attribute.KeyValue{
				attribute.String(otelspans.KeyHTTPRequestMethod, "GET"),
				attribute.String(otelspans.KeyURLPath, "/items/7"),
				attribute.String(otelspans.KeyServerAddress, "shop.test"),
				attribute.String(otelspans.KeyHTTPRoute, "/items/{id}"),
				attribute.Int(otelspans.KeyHTTPStatusCode, 500),
				attribute.String(otelspans.KeyErrorType, "500"),
			})
			assert.Equal(t, trace.SpanKindInternal, b.byName(t, "plain").SpanKind())
			assert.NotContains(t, attrs(b.byName(t, "plain")), otelspans.KeyHTTPRequestMethod)

			client := b.byName(t, "GET db.test")
			assert.Equal(t, trace.SpanKindClient, client.SpanKind())
			assert.Subset(t, client.Attributes(), []attribute.KeyValue{
				attribute.String(otelspans.KeyHTTPRequestMethod, "GET"),
				attribute.String(otelspans.KeyURLFull, "http://db.test:8080/q"),
				attribute.String(otelspans.KeyServerAddress, "db.test"),
				attribute.Int(otelspans.KeyServerPort, 8080),
			})
			assert.NotContains(t, attrs(client), otelspans.KeyErrorType, "no error, no error.type")

			down := b.byName(t, "POST down.test")
			assert.Equal(t, trace.SpanKindClient, down.SpanKind(), "the method alone makes an HTTP span")
			assert.Equal(t, "_OTHER", str(t, down, otelspans.KeyErrorType), "an error without a type of its own")
		})
	}
}

// TestHTTPKeysMatchTracing: the bridge reads the keys tracing writes.
func TestHTTPKeysMatchTracing(t *testing.T) {
	for _, k := range [][2]string{
		{otelspans.KeyHTTPRequestMethod, tracing.KeyMethod},
		{otelspans.KeyURLPath, tracing.KeyPath},
		{otelspans.KeyURLFull, tracing.KeyURL},
		{otelspans.KeyServerAddress, tracing.KeyHost},
		{otelspans.KeyServerPort, tracing.KeyPort},
		{otelspans.KeyHTTPStatusCode, tracing.KeyStatusCode},
		{otelspans.KeyHTTPRoute, tracing.KeyRoute},
		{otelspans.KeyHTTPResendCount, tracing.KeyResendCount},
		{otelspans.KeyErrorType, tracing.KeyErrorType},
	} {
		assert.Equal(t, k[1], k[0])
	}
}

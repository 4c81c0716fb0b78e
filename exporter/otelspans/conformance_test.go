package otelspans_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/exportertest"
	"github.com/flowtrace/flowtrace/exporter/otelspans"
)

func TestConformance(t *testing.T) {
	t.Run("New", func(t *testing.T) {
		exportertest.Run(t, func(t *testing.T) flowtrace.Exporter {
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()), sdktrace.WithIDGenerator(otelspans.IDGenerator()))
			return otelspans.New(tp)
		}, exportertest.WithGoroutineCheck())
	})
	t.Run("NewOTLP", func(t *testing.T) {
		r := newReceiver(t)
		exportertest.Run(t, func(t *testing.T) flowtrace.Exporter {
			e, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(r.srv.URL+"/v1/traces"))
			require.NoError(t, err)
			return e
		})
	})
	t.Run("NewOTLPGoroutines", func(t *testing.T) {
		r := newReceiver(t)
		exportertest.Run(t, func(t *testing.T) flowtrace.Exporter {
			e, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(r.srv.URL+"/v1/traces"))
			require.NoError(t, err)
			return e
		}, exportertest.WithGoroutineCheck())
	})
}

package otelspans_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace/exporter/otelspans"
)

// An error handler that calls ForceFlush or Shutdown gets its answer:
// neither waits for the handler's own goroutine.
func TestNewOTLPErrorHandlerMayCallShutdown(t *testing.T) {
	clearOTelEnv(t)
	b := newScripted(t, func(_ int64, w http.ResponseWriter) bool {
		w.WriteHeader(http.StatusBadRequest)
		return false
	})
	var exp *otelspans.Exporter
	got := make(chan error, 1)
	exp, err := otelspans.NewOTLP(context.Background(), otelspans.WithEndpointURL(b.srv.URL+"/v1/traces"),
		otelspans.WithErrorHandler(func(error) {
			_ = exp.TracerProvider().(interface{ ForceFlush(context.Context) error }).ForceFlush(context.Background())
			err := exp.Shutdown(context.Background())
			select {
			case got <- err:
			default:
			}
		}))
	require.NoError(t, err)
	endSpans(exp, 1)
	flush(t, exp)
	ctx := deadline(t)
	select {
	case err := <-got:
		assert.ErrorIs(t, err, otelspans.ErrExport)
	case <-ctx.Done():
		t.Fatal("Shutdown called by the error handler did not return")
	}
	require.ErrorIs(t, exp.Shutdown(ctx), otelspans.ErrExport)
	assert.Equal(t, otelspans.SpanStats{Ended: 1, Failed: 1}, exp.SpanStats())
}

package otelspans

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// reportingExporter wraps the span exporter NewOTLP builds: a failed
// export is counted and reported to the bridge's error handler — not to
// OpenTelemetry's global handler, which the batch processor would use, nor
// silently dropped — and Shutdown returns the count.
type reportingExporter struct {
	sdktrace.SpanExporter
	onError func(error)

	failed  atomic.Uint64 // spans
	mu      sync.Mutex
	lastErr error
}

func (r *reportingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := r.SpanExporter.ExportSpans(ctx, spans)
	if err == nil {
		return nil
	}
	total := r.failed.Add(uint64(len(spans)))
	r.mu.Lock()
	r.lastErr = err
	r.mu.Unlock()
	r.onError(fmt.Errorf("%w: %d spans not exported (%d so far): %w", ErrExport, len(spans), total, err))
	return nil // reported here; the batch processor would hand it to the global handler
}

// err returns an error counting the spans that failed, or nil.
func (r *reportingExporter) err() error {
	n := r.failed.Load()
	if n == 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Errorf("%w: %d spans not exported, last because: %w", ErrExport, n, r.lastErr)
}

// ErrExport reports spans NewOTLP's exporter could not send (the backend
// refused them, or could not be reached). Each failure goes to the error
// handler (see WithErrorHandler); Shutdown returns their count.
var ErrExport = errors.New("otelspans: export failed")

// defaultErrorHandler logs through log/slog's default logger, as
// flowtrace's own default handler does.
func defaultErrorHandler(err error) { slog.Error("otelspans", "err", err) }

// safe wraps h so that a panicking handler cannot take the batch
// processor's goroutine down.
func safe(h func(error)) func(error) {
	return func(err error) {
		defer func() { _ = recover() }()
		h(err)
	}
}

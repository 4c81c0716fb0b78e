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

	ended    atomic.Uint64 // spans handed to the batch processor (countingProcessor)
	exported atomic.Uint64 // spans the backend accepted
	failed   atomic.Uint64 // spans in a failed export
	mu       sync.Mutex
	lastErr  error
	unsent   uint64 // spans already reported as never sent, by Shutdown
}

func (r *reportingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := r.SpanExporter.ExportSpans(ctx, spans)
	if err == nil {
		r.exported.Add(uint64(len(spans)))
		return nil
	}
	total := r.failed.Add(uint64(len(spans)))
	r.mu.Lock()
	r.lastErr = err
	r.mu.Unlock()
	r.onError(fmt.Errorf("%w: %d spans not exported (%d so far): %w", ErrExport, len(spans), total, err))
	return nil // reported here; the batch processor would hand it to the global handler
}

// stats returns the counts. Exported and Failed are loaded before Ended,
// so that a span in flight is counted pending, never twice.
func (r *reportingExporter) stats() SpanStats {
	st := SpanStats{Exported: r.exported.Load(), Failed: r.failed.Load()}
	st.Ended = r.ended.Load()
	return st
}

// err returns an error counting the spans that were not exported (failed,
// or ended and never sent), or nil. It runs once the batch processor has
// been shut down, or has given up at its ctx's end: spans still pending
// then are never sent. Those not reported before are reported now.
func (r *reportingExporter) err() error {
	st := r.stats()
	unsent := st.Ended - st.Exported - st.Failed
	if st.Failed == 0 && unsent == 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if unsent > r.unsent {
		n := unsent - r.unsent
		r.unsent = unsent
		r.onError(fmt.Errorf("%w: %d spans not exported: still queued at shutdown", ErrExport, n))
	}
	var errs []error
	if st.Failed > 0 {
		errs = append(errs, fmt.Errorf("%w: %d spans not exported, last because: %w", ErrExport, st.Failed, r.lastErr))
	}
	if unsent > 0 {
		errs = append(errs, fmt.Errorf("%w: %d spans not exported: still queued at shutdown", ErrExport, unsent))
	}
	return errors.Join(errs...)
}

// countingProcessor counts the sampled spans that end, before the batch
// processor sees them: what it then fails to hand to the exporter (a
// span ended after Shutdown, or left in its queue when Shutdown's ctx
// ended) is still counted, as never sent.
type countingProcessor struct {
	sdktrace.SpanProcessor
	rep *reportingExporter
}

func (p *countingProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.SpanContext().IsSampled() {
		p.rep.ended.Add(1)
	}
	p.SpanProcessor.OnEnd(s)
}

// SpanStats counts the spans of an exporter NewOTLP built, on their way to
// the backend. Ended - Exported - Failed spans are in the batch
// processor's queue or in an export still in flight; after Shutdown
// returns, they are the spans never sent, and Shutdown's error counts
// them. An exporter New built counts nothing: its provider is the
// caller's.
type SpanStats struct {
	Ended    uint64 // ended and handed to the batch processor
	Exported uint64 // accepted by the backend
	Failed   uint64 // in an export the backend refused or that did not reach it
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

package otelspans

import (
	"errors"
	"log/slog"
)

// SpanStats counts the spans of an exporter NewOTLP built, on their way to
// the backend. Ended - Exported - Failed spans are in its queue or in an
// export still in flight; after Shutdown returns there are none: a span
// Shutdown could not send is counted failed, and Shutdown's error counts
// the failed ones. An exporter New built counts nothing: its provider is
// the caller's.
type SpanStats struct {
	Ended    uint64 // ended and handed to the exporter's queue (or ended after Shutdown)
	Exported uint64 // accepted by the backend
	Failed   uint64 // refused (rejected in a partial success included), unreachable, unsent at Shutdown, or ended after it
}

// ErrExport reports spans NewOTLP's exporter could not send (the backend
// refused them, or could not be reached). Each failure goes to the error
// handler (see WithErrorHandler); Shutdown returns their count.
var ErrExport = errors.New("otelspans: export failed")

// ErrExportWarning reports a warning of the backend about spans it
// accepted: a partial success rejecting none, with a message (the OTLP
// specification's warning). It goes to the error handler, wrapping
// ErrExportWarning and never ErrExport; its spans are counted exported,
// and Shutdown's error does not mention it.
var ErrExportWarning = errors.New("otelspans: export warning")

// defaultErrorHandler logs through log/slog's default logger, as
// flowtrace's own default handler does.
func defaultErrorHandler(err error) { slog.Error("otelspans", "err", err) }

// safe wraps h so that a panicking handler cannot take the sender's
// goroutine down.
func safe(h func(error)) func(error) {
	return func(err error) {
		defer func() { _ = recover() }()
		h(err)
	}
}

package tracing

import (
	"context"
	"sync/atomic"
)

// SetError attaches err to the run of the request whose handler's ctx is
// ctx, as the cause of its failure: the Middleware ends the run with it,
// joined (errors.Join, the cause first) with the error the Middleware
// records itself (ErrServerError for a 5xx status, ErrHandlerPanic,
// ErrHandlerExit), or alone when there is none — so a handler that
// answers 502 says why, and one that answers 200 after a failure it
// handled may still record it. Like every error the run ends with, it is
// masked and scrubbed of the run's secrets when recorded.
//
// A later call replaces an earlier one; a nil err clears it. SetError is
// safe for concurrent use, from the handler and the goroutines it starts.
// Outside a request served by Middleware (no run, a run the Middleware did
// not start, a disabled service or an unsampled run) it does nothing.
func SetError(ctx context.Context, err error) {
	if ctx == nil {
		return
	}
	if s, ok := ctx.Value(errorSlotKey{}).(*errorSlot); ok {
		s.v.Store(&err)
	}
}

// errorSlot holds the cause SetError attached to one request's run.
type errorSlot struct{ v atomic.Pointer[error] }

type errorSlotKey struct{}

func (s *errorSlot) load() error {
	if p := s.v.Load(); p != nil {
		return *p
	}
	return nil
}

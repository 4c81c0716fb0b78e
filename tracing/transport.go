package tracing

import "net/http"

// Transport returns an http.RoundTripper that propagates the run of each
// request's ctx to the server it calls, then sends the request through
// base (http.DefaultTransport when nil).
//
// A request made with a ctx inside a run, sampled or not, carries a W3C
// traceparent naming the run's trace, the current span (the innermost
// component's, else the run's own) and the run's sampling decision, and a
// baggage header with the run ID (flowtrace.run.id); the session and user
// IDs only under WithIdentityBaggage. The Middleware on the other side
// continues the run as a child run. A baggage header the request already
// has is merged, not replaced: its members are kept after flowtrace's (any
// flowtrace member it had is replaced); if the merge would pass the W3C
// limits, the request's own baggage is sent as it was and flowtrace's
// left out. A traceparent the request already has is replaced, and its
// tracestate dropped unless it named the same trace.
//
// The caller's request is never modified: a request to propagate is
// shallow-copied with its own Header. A request made outside a run goes to
// base as it is.
//
// The RoundTripper is safe for concurrent use if base is. It forwards
// CloseIdleConnections to base.
func Transport(base http.RoundTripper, opts ...Option) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{base: base, cfg: newConfig(opts)}
}

type transport struct {
	base http.RoundTripper
	cfg  config
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	tp, id, ok := outgoing(req.Context())
	if !ok {
		return t.base.RoundTrip(req)
	}
	r2 := new(http.Request)
	*r2 = *req
	// A deep copy: base may Add to the headers, and appending to a slice
	// shared with the caller's request would write into the caller's.
	r2.Header = req.Header.Clone()
	if r2.Header == nil {
		r2.Header = make(http.Header, 2)
	}
	if old := req.Header[keyTraceparent]; len(old) > 0 {
		prev, valid := parseTraceparent(old[0])
		if len(old) != 1 || !valid || prev.traceID != tp.traceID {
			delete(r2.Header, keyTracestate)
		}
	}
	r2.Header[keyTraceparent] = []string{tp.String()}
	if v, ok := mergeBaggage(req.Header[keyBaggage], id, t.cfg.identityBaggage); ok {
		r2.Header[keyBaggage] = []string{v}
	}
	return t.base.RoundTrip(r2)
}

// CloseIdleConnections closes base's idle connections, if base can.
func (t *transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

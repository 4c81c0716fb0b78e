package tracing

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"

	"github.com/flowtrace/flowtrace"
)

// ErrErrorStatus is the error of a client component whose response has a
// 4xx or 5xx status (OpenTelemetry's rule for client spans); the message
// names the status.
var ErrErrorStatus = errors.New("tracing: error response status")

// Keys a client component records besides KeyMethod, KeyHost and
// KeyStatusCode.
const (
	// KeyURL is the request's URL without user info and fragment, each
	// query value replaced by "REDACTED" (metadata).
	KeyURL = "url.full"
	// KeyPort is the port the request goes to, when the URL names one
	// (metadata).
	KeyPort = "server.port"
	// KeyResendCount is how many redirects came before the request, when
	// any did (metadata).
	KeyResendCount = "http.request.resend_count"
	// KeyErrorType is what failed: the status code of an error response,
	// else the Go type of the transport's error (outputs).
	KeyErrorType = "error.type"
	// KeyRoute is the pattern of the route that served a request, when
	// the mux knows it (a run's outputs; see Middleware).
	KeyRoute = "http.route"
)

// TypeHTTPClient is the type of the components the Transport records: one
// per outgoing request. Exporters recognise an HTTP request by its
// metadata (KeyMethod); the type lets a user filter them.
const TypeHTTPClient = "http.client"

// Transport returns an http.RoundTripper that records and propagates each
// request made with a ctx inside a run, then sends it through base
// (http.DefaultTransport when nil).
//
// In a sampled run, each request is a client component of the current
// scope, of type TypeHTTPClient, named "METHOD host": its metadata are the
// method, the URL (without user info or fragment, query values replaced
// by "REDACTED", and then masked like any recorded value), the host and
// port, and for a redirect the number of redirects before it; its outputs
// the status code and, on failure, KeyErrorType; its error the transport's
// error, or ErrErrorStatus for a 4xx or 5xx status. The component starts
// when RoundTrip is called and ends when base returns the response
// headers (or fails), so its duration does not include reading the body.
// Each attempt is its own component: a redirect followed by http.Client,
// a retry made by the caller. WithoutClientComponents records none.
//
// The request carries a W3C traceparent naming the run's trace, its span
// — the client component's, so that each request from one scope has a
// parent-id of its own; else the current span (the innermost component's,
// the run's own, or an OpenTelemetry span started inside it); in an
// unsampled run, where nothing is recorded, a fresh random span ID — and
// the run's sampled and random flags; a tracestate, when the run has one
// (the one its caller sent); and a baggage header with the run ID
// (flowtrace.run.id), the session and user IDs only under
// WithIdentityBaggage. The Middleware on the other side continues the run
// as a child run. A baggage header the request already has is merged, not
// replaced: its members are kept after flowtrace's (any flowtrace member it
// had is replaced); if the merge would pass the W3C limits, the request's
// own baggage is sent as it was and flowtrace's left out. A traceparent
// the request already has is replaced; its tracestate is replaced by the
// run's, or, when the run has none, dropped unless it named the same
// trace.
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
	ctx := req.Context()
	rc, ok := flowtrace.RunFromContext(ctx)
	if !ok {
		return t.base.RoundTrip(req)
	}
	var c *flowtrace.Component
	if rc.Sampled() && !t.cfg.noClientComponents {
		ctx, c = flowtrace.TraceComponent(ctx, clientComponent(req))
	}
	out, ok := outgoing(ctx)
	if !ok {
		c.End(nil)
		return t.base.RoundTrip(req)
	}
	if !rc.Sampled() {
		// Nothing is recorded, but each request still names a span of its
		// own, as the specification asks of the parent-id.
		out.tp.spanID = newSpanID()
	}
	r2 := req.WithContext(ctx)
	// A deep copy: base may Add to the headers, and appending to a slice
	// shared with the caller's request would write into the caller's.
	r2.Header = req.Header.Clone()
	if r2.Header == nil {
		r2.Header = make(http.Header, 3)
	}
	if out.state != "" {
		r2.Header[keyTracestate] = []string{out.state}
	} else if old := req.Header[keyTraceparent]; len(old) > 0 {
		prev, valid := parseTraceparent(old[0])
		if len(old) != 1 || !valid || prev.traceID != out.tp.traceID {
			delete(r2.Header, keyTracestate)
		}
	}
	r2.Header[keyTraceparent] = []string{out.tp.String()}
	if v, ok := mergeBaggage(req.Header[keyBaggage], out.id, t.cfg.identityBaggage); ok {
		r2.Header[keyBaggage] = []string{v}
	}
	resp, err := t.base.RoundTrip(r2)
	if c != nil {
		endClient(ctx, c, resp, err)
	}
	return resp, err
}

// clientComponent describes the client component of req.
func clientComponent(req *http.Request) flowtrace.ComponentInfo {
	host := req.Host
	if host == "" && req.URL != nil {
		host = req.URL.Host
	}
	md := make(map[string]any, 5)
	md[KeyMethod] = req.Method
	if req.URL != nil {
		md[KeyURL] = redactURL(req.URL)
		md[KeyHost] = req.URL.Hostname()
		if p, err := strconv.Atoi(req.URL.Port()); err == nil {
			md[KeyPort] = p
		}
	}
	if n := redirects(req); n > 0 {
		md[KeyResendCount] = n
	}
	return flowtrace.ComponentInfo{Name: req.Method + " " + host, Type: TypeHTTPClient, Metadata: md}
}

// redirects returns how many redirects led to req: http.Client links each
// redirected request to the response that caused it, and that response to
// its own request.
func redirects(req *http.Request) int {
	n := 0
	for r := req.Response; r != nil; n++ {
		if r.Request == nil {
			return n + 1
		}
		r = r.Request.Response
	}
	return n
}

// redactURL returns u as a string without user info or fragment, each
// query value replaced: a URL's query often carries a key or a signature.
func redactURL(u *url.URL) string {
	v := *u
	v.User = nil
	v.Fragment, v.RawFragment = "", ""
	if v.RawQuery != "" {
		q := v.Query()
		for k, vs := range q {
			for i := range vs {
				vs[i] = "REDACTED"
			}
			q[k] = vs
		}
		v.RawQuery = q.Encode()
	}
	return v.String()
}

// endClient ends the client component c with the outcome of its request.
func endClient(ctx context.Context, c *flowtrace.Component, resp *http.Response, err error) {
	var out map[string]any
	switch {
	case err != nil:
		out = map[string]any{KeyErrorType: fmt.Sprintf("%T", err)}
	case resp != nil:
		out = map[string]any{KeyStatusCode: resp.StatusCode}
		if resp.StatusCode >= 400 {
			code := strconv.Itoa(resp.StatusCode)
			out[KeyErrorType] = code
			err = fmt.Errorf("%w: %s %s", ErrErrorStatus, code, http.StatusText(resp.StatusCode))
		}
	}
	flowtrace.SetOutputs(ctx, out)
	c.End(err)
}

// newSpanID returns a random, non-zero span ID.
func newSpanID() [8]byte {
	var id [8]byte
	for id == ([8]byte{}) {
		v := rand.Uint64()
		for i := range id {
			id[i] = byte(v >> (8 * i))
		}
	}
	return id
}

// CloseIdleConnections closes base's idle connections, if base can.
func (t *transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

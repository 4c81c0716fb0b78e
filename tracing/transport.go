package tracing

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"

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
		info := clientComponent(req)
		ctx, c = flowtrace.TraceComponent(ctx, info)
		putFields(info.Metadata) // snapshotted by TraceComponent
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
	h := cloneHeader(req.Header, 3)
	if out.state != "" {
		h.set(keyTracestate, out.state)
	} else if old := req.Header[keyTraceparent]; len(old) > 0 {
		prev, valid := parseTraceparent(old[0])
		if len(old) != 1 || !valid || prev.traceID != out.tp.traceID {
			delete(h.h, keyTracestate)
		}
	}
	// The traceparent and the baggage share one string.
	buf := out.tp.appendTo(make([]byte, 0, 256))
	buf, merged := appendMergedBaggage(buf, req.Header[keyBaggage], out.id, t.cfg.identityBaggage)
	fields := string(buf)
	h.set(keyTraceparent, fields[:traceparentLen])
	if merged {
		h.set(keyBaggage, fields[traceparentLen:])
	}
	r2.Header = h.h
	resp, err := t.base.RoundTrip(r2)
	if c != nil {
		endClient(ctx, c, resp, err)
	}
	return resp, err
}

// headerCopy is a deep copy of a request's header being given the fields
// a call propagates.
type headerCopy struct {
	h     http.Header
	spare []string // room for the values set adds
}

// cloneHeader returns a deep copy of h, as h.Clone makes (keys with nil
// values kept nil), never nil, with room for n more keys: its values, and
// the n that set adds, share one array, each slice capped at its length
// so that appending to one never writes into another.
func cloneHeader(h http.Header, n int) headerCopy {
	nv := n
	for _, vv := range h {
		nv += len(vv)
	}
	sv := make([]string, nv)
	h2 := make(http.Header, len(h)+n)
	for k, vv := range h {
		if vv == nil {
			h2[k] = nil
			continue
		}
		m := copy(sv, vv)
		h2[k] = sv[:m:m]
		sv = sv[m:]
	}
	return headerCopy{h: h2, spare: sv}
}

// set sets key's one value to v.
func (c *headerCopy) set(key, v string) {
	if len(c.spare) == 0 {
		c.h[key] = []string{v}
		return
	}
	c.spare[0] = v
	c.h[key] = c.spare[:1:1]
	c.spare = c.spare[1:]
}

// clientComponent describes the client component of req.
func clientComponent(req *http.Request) flowtrace.ComponentInfo {
	host := req.Host
	if host == "" && req.URL != nil {
		host = req.URL.Host
	}
	md := getFields()
	md[KeyMethod] = methodValue(req.Method)
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
	if q, ok := redactQuery(v.RawQuery); ok {
		v.RawQuery = q
		return v.String()
	}
	return redactParsed(&v)
}

// redactParsed is redactURL's way for a query its fast path leaves: the
// query parsed, each value replaced, encoded again. v has no user info or
// fragment already.
func redactParsed(v *url.URL) string {
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

// redactQuery returns the query q redacted as redactURL's slow path
// writes it (url.Values.Encode of q's keys, each value "REDACTED"), when it
// can without parsing: each non-empty pair's key is written as Encode
// writes it (letters, digits, '-', '_', '.', '~') and the keys come in
// Encode's order (sorted, equal keys together), each value is one
// url.ParseQuery keeps (no ';', '%' only before two hex digits), and there
// are fewer than maxFastQueryPairs. It reports false
// otherwise; "" and true for an empty query.
func redactQuery(q string) (string, bool) {
	const redacted = "=REDACTED"
	if q == "" {
		return "", true
	}
	if strings.Count(q, "&") >= maxFastQueryPairs {
		return "", false // ParseQuery's limit on the pairs is the slow path's
	}
	n, prev := 0, ""
	first := true
	for rest := q; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		if pair == "" {
			continue
		}
		key, value, _ := strings.Cut(pair, "=")
		if !first && key < prev || !isQueryToken(key) || !isQueryValue(value) {
			return "", false
		}
		first, prev = false, key
		n += len(key) + len(redacted) + 1
	}
	if first {
		return "", true // only empty pairs: Encode writes nothing
	}
	b := make([]byte, 0, n-1)
	for rest := q; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		if pair == "" {
			continue
		}
		key, _, _ := strings.Cut(pair, "=")
		if len(b) > 0 {
			b = append(b, '&')
		}
		b = append(append(b, key...), redacted...)
	}
	return string(b), true
}

// maxFastQueryPairs bounds the queries redactQuery redacts itself.
const maxFastQueryPairs = 64

// isQueryValue reports whether url.ParseQuery keeps a pair with the value
// s: one without ';' and whose escapes are valid.
func isQueryValue(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ';':
			return false
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// isQueryToken reports whether url.QueryEscape leaves s as it is, and
// url.QueryUnescape does too.
func isQueryToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
		default:
			return false
		}
	}
	return true
}

// endClient ends the client component c with the outcome of its request.
func endClient(ctx context.Context, c *flowtrace.Component, resp *http.Response, err error) {
	out := getFields()
	switch {
	case err != nil:
		out[KeyErrorType] = fmt.Sprintf("%T", err)
	case resp != nil:
		out[KeyStatusCode] = resp.StatusCode
		if resp.StatusCode >= 400 {
			code := strconv.Itoa(resp.StatusCode)
			out[KeyErrorType] = code
			err = fmt.Errorf("%w: %s %s", ErrErrorStatus, code, http.StatusText(resp.StatusCode))
		}
	}
	if len(out) > 0 {
		flowtrace.SetOutputs(ctx, out)
	} else {
		flowtrace.SetOutputs(ctx, nil) // base returned neither a response nor an error
	}
	putFields(out) // snapshotted by SetOutputs
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

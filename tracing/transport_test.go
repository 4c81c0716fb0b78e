package tracing_test

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/propagation"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
	"github.com/flowtrace/flowtrace/tracing"
)

// capture is a RoundTripper that keeps the request it is given.
type capture struct{ req *http.Request }

func (c *capture) RoundTrip(r *http.Request) (*http.Response, error) {
	c.req = r
	return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody, Request: r}, nil
}

func roundTrip(t *testing.T, rt http.RoundTripper, req *http.Request) {
	t.Helper()
	resp, err := rt.RoundTrip(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
}

func traceparentFor(traceID [16]byte, spanID [8]byte, sampled bool) string {
	// The runs of these tests generate their trace IDs: random (02).
	flags := "02"
	if sampled {
		flags = "03"
	}
	return "00-" + hex.EncodeToString(traceID[:]) + "-" + hex.EncodeToString(spanID[:]) + "-" + flags
}

func TestTransportOutsideARunPassesThrough(t *testing.T) {
	c := &capture{}
	req := httptest.NewRequest(http.MethodGet, "http://example.test/", nil)
	roundTrip(t, tracing.Transport(c), req)
	assert.Same(t, req, c.req, "the very request goes to base")
	assert.Empty(t, req.Header)
}

func TestTransportPropagates(t *testing.T) {
	svc, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "caller", SessionID: "sess 1", UserID: "ada@example.com"})
	require.NoError(t, err)
	defer func() { _, _ = svc.EndTracers(within(t, ctx), nil, nil) }()
	rc, _ := flowtrace.RunFromContext(ctx)
	cctx, comp := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "tool"})
	defer comp.End(nil)
	cc, _ := flowtrace.ComponentFromContext(cctx)

	t.Run("run span outside components", func(t *testing.T) {
		c := &capture{}
		roundTrip(t, tracing.Transport(c, tracing.WithoutClientComponents()), httptest.NewRequestWithContext(ctx, http.MethodGet, "http://example.test/", nil))
		assert.Equal(t, traceparentFor(rc.TraceID(), rc.SpanID(), true), c.req.Header.Get("traceparent"))
	})
	t.Run("component span, request untouched", func(t *testing.T) {
		c := &capture{}
		req := httptest.NewRequestWithContext(cctx, http.MethodGet, "http://example.test/", nil)
		req.Header.Set("X-Keep", "1")
		roundTrip(t, tracing.Transport(c, tracing.WithoutClientComponents()), req)
		require.NotSame(t, req, c.req, "the caller's request is copied")
		assert.Equal(t, http.Header{"X-Keep": {"1"}}, req.Header, "the caller's request is not modified")
		assert.Equal(t, traceparentFor(rc.TraceID(), cc.SpanID(), true), c.req.Header.Get("traceparent"))
		assert.Equal(t, "flowtrace.run.id="+rc.RunID(), c.req.Header.Get("baggage"), "no identity without the option")
		assert.Equal(t, "1", c.req.Header.Get("X-Keep"))
		assert.Same(t, req.Context(), c.req.Context())
	})
	t.Run("identity baggage on request", func(t *testing.T) {
		c := &capture{}
		roundTrip(t, tracing.Transport(c, tracing.WithIdentityBaggage()), httptest.NewRequestWithContext(cctx, http.MethodGet, "http://example.test/", nil))
		assert.Equal(t, "flowtrace.run.id="+rc.RunID()+",flowtrace.session.id=sess%201,flowtrace.user.id=ada@example.com", c.req.Header.Get("baggage"))
	})
	t.Run("existing baggage merged", func(t *testing.T) {
		c := &capture{}
		req := httptest.NewRequestWithContext(cctx, http.MethodGet, "http://example.test/", nil)
		req.Header.Add("Baggage", "tenant=t1;p, flowtrace.run.id=stale")
		req.Header.Add("Baggage", "region=eu")
		roundTrip(t, tracing.Transport(c), req)
		assert.Equal(t, []string{"flowtrace.run.id=" + rc.RunID() + ",tenant=t1;p,region=eu"}, c.req.Header.Values("baggage"))
		assert.Equal(t, []string{"tenant=t1;p, flowtrace.run.id=stale", "region=eu"}, req.Header.Values("baggage"), "the caller's header is not modified")
	})
	t.Run("full baggage kept whole", func(t *testing.T) {
		c := &capture{}
		req := httptest.NewRequestWithContext(cctx, http.MethodGet, "http://example.test/", nil)
		full := strings.TrimSuffix(strings.Repeat("k=v,", 180), ",")
		req.Header.Set("Baggage", full)
		roundTrip(t, tracing.Transport(c), req)
		assert.Equal(t, full, c.req.Header.Get("baggage"), "flowtrace's member left out rather than the caller's cut")
		assert.NotEmpty(t, c.req.Header.Get("traceparent"), "the trace still goes")
	})
	t.Run("existing traceparent replaced", func(t *testing.T) {
		same := traceparentFor(rc.TraceID(), [8]byte{9}, true)
		other := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		for _, tc := range []struct {
			prev      string
			keepState bool
		}{{same, true}, {other, false}, {"garbage", false}} {
			c := &capture{}
			req := httptest.NewRequestWithContext(cctx, http.MethodGet, "http://example.test/", nil)
			req.Header.Set("Traceparent", tc.prev)
			req.Header.Set("Tracestate", "vendor=x")
			roundTrip(t, tracing.Transport(c, tracing.WithoutClientComponents()), req)
			assert.Equal(t, traceparentFor(rc.TraceID(), cc.SpanID(), true), c.req.Header.Get("traceparent"))
			assert.Equal(t, tc.keepState, c.req.Header.Get("tracestate") != "", "tracestate after %q", tc.prev)
			assert.Equal(t, tc.prev, req.Header.Get("traceparent"), "the caller's header is not modified")
		}
	})
}

func TestTransportNilBaseIsDefaultTransport(t *testing.T) {
	svc, _ := newService(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.Header.Get("traceparent")))
	}))
	defer srv.Close()
	defer http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	rc, _ := flowtrace.RunFromContext(ctx)
	client := &http.Client{Transport: tracing.Transport(nil, tracing.WithoutClientComponents())}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	resp, err := client.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, traceparentFor(rc.TraceID(), rc.SpanID(), true), string(body))
	client.CloseIdleConnections() // forwarded to http.DefaultTransport
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
}

// TestAcrossProcesses: service A's tool component calls service B; B's
// run is a child run of A's, exactly as a nested run in one process.
func TestAcrossProcesses(t *testing.T) {
	svcA, recA := newService(t)
	svcB, recB := newService(t)
	var got http.Header
	srv, done := serve(t, tracing.Middleware(svcB, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		cctx, c := svcB.TraceComponent(r.Context(), flowtrace.ComponentInfo{Name: "lookup"})
		c.End(nil)
		_ = cctx
	})))
	client := &http.Client{Transport: tracing.Transport(srv.Client().Transport, tracing.WithIdentityBaggage(), tracing.WithoutClientComponents())}

	ctx, err := svcA.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "agent", SessionID: "s-1", UserID: "u-1"})
	require.NoError(t, err)
	toolCtx, tool := svcA.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "search", Type: "tool"})
	get(t, toolCtx, client, srv.URL+"/search", nil)
	wait(t, done, 1)
	tool.End(nil)
	sum, err := svcA.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)

	caller, ok := recA.Run(sum.RunID)
	require.True(t, ok)
	callee := onlyRun(t, svcB, recB)
	assert.Equal(t, traceparentFor(caller.Info.TraceID, caller.Components[0].Info.SpanID, true), got.Get("traceparent"))
	assert.NotEqual(t, caller.Info.RunID, callee.Info.RunID, "the callee has its own run ID")
	assert.Equal(t, caller.Info.RunID, callee.Info.ParentRunID)
	assert.Equal(t, caller.Info.TraceID, callee.Info.TraceID, "one trace")
	assert.Equal(t, caller.Components[0].Info.SpanID, callee.Info.ParentSpanID, "the callee's run span is under the caller's tool span")
	assert.Equal(t, "s-1", callee.Info.SessionID, "session inherited through baggage")
	assert.Equal(t, "u-1", callee.Info.UserID)
	assert.Equal(t, "GET /search", callee.Info.RunName)
	require.Len(t, callee.Components, 1)
	assert.Equal(t, callee.Info.SpanID, callee.Components[0].Info.ParentSpanID)
}

// TestSamplingAcrossTheWire: the caller's decision holds in the callee,
// whatever the callee's own sampler says, both ways.
func TestSamplingAcrossTheWire(t *testing.T) {
	tests := []struct {
		name           string
		caller, callee flowtrace.Sampler
		wantFlag       string
		recorded       bool
	}{
		{"sampled caller, never-sampling callee", flowtrace.AlwaysSample(), flowtrace.NeverSample(), "03", true},
		{"unsampled caller, always-sampling callee", flowtrace.NeverSample(), flowtrace.AlwaysSample(), "02", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svcA, recA := newService(t, flowtrace.WithSampler(tt.caller))
			svcB, recB := newService(t, flowtrace.WithSampler(tt.callee))
			var tp, bag string
			var calleeParent string
			srv, done := serve(t, tracing.Middleware(svcB, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				tp, bag = r.Header.Get("traceparent"), r.Header.Get("baggage")
				rc, _ := flowtrace.RunFromContext(r.Context())
				calleeParent = rc.ParentRunID()
			})))
			client := &http.Client{Transport: tracing.Transport(srv.Client().Transport)}
			ctx, err := svcA.StartTracers(context.Background(), flowtrace.RunInfo{})
			require.NoError(t, err)
			rc, _ := flowtrace.RunFromContext(ctx)
			get(t, ctx, client, srv.URL, nil)
			wait(t, done, 1)
			_, err = svcA.EndTracers(within(t, ctx), nil, nil)
			require.NoError(t, err)

			settle(t, svcB)
			assert.True(t, strings.HasSuffix(tp, "-"+tt.wantFlag), "traceparent %q", tp)
			assert.Equal(t, "flowtrace.run.id="+rc.RunID(), bag, "an unsampled run still names itself")
			assert.Equal(t, rc.RunID(), calleeParent, "the callee's run continues the caller's either way")
			assert.Equal(t, tt.recorded, recA.Len() == 1)
			assert.Equal(t, tt.recorded, recB.Len() == 1, "callee recorded exactly when the caller was")
			if !tt.recorded {
				assert.Equal(t, uint64(1), svcB.Stats().RunsUnsampled)
			}
		})
	}
}

func TestHostileHeadersStartAFreshRun(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	huge := strings.Repeat("a", 100<<10)
	tests := []struct {
		name   string
		header http.Header
	}{
		{"version ff", http.Header{"Traceparent": {"ff" + tp[2:]}, "Baggage": {"flowtrace.run.id=r1"}}},
		{"zero trace id", http.Header{"Traceparent": {"00-00000000000000000000000000000000-00f067aa0ba902b7-01"}, "Baggage": {"flowtrace.run.id=r1"}}},
		{"zero span id", http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"}}},
		{"upper-case hex", http.Header{"Traceparent": {strings.ToUpper(tp)}}},
		{"non-hex", http.Header{"Traceparent": {strings.Replace(tp, "4bf9", "4bz9", 1)}}},
		{"truncated", http.Header{"Traceparent": {tp[:50]}}},
		{"extra field on version 00", http.Header{"Traceparent": {tp + "-00"}}},
		{"twice", http.Header{"Traceparent": {tp, tp}}},
		{"huge", http.Header{"Traceparent": {"01" + tp[2:] + "-" + huge}, "Baggage": {"flowtrace.run.id=" + huge}}},
		{"baggage alone", http.Header{"Baggage": {"flowtrace.run.id=r1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, rec := newService(t)
			srv, done := serve(t, tracing.Middleware(svc, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
			resp := get(t, context.Background(), srv.Client(), srv.URL, tt.header)
			wait(t, done, 1)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			run := onlyRun(t, svc, rec)
			assert.Empty(t, run.Info.ParentRunID, "no parent run taken from hostile headers")
			assert.Equal(t, [8]byte{}, run.Info.ParentSpanID, "a fresh trace")
			assert.NotEqual(t, "4bf92f3577b34da6a3ce929d0e0e4736", hex.EncodeToString(run.Info.TraceID[:]))
		})
	}
}

// TestHostileBaggageKeepsTheTrace: a valid traceparent with bad baggage
// continues the trace, without a parent run.
func TestHostileBaggageKeepsTheTrace(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := map[string]string{
		"past 8192 bytes":  "flowtrace.run.id=r1,x=" + strings.Repeat("v", 8192),
		"181 members":      "flowtrace.run.id=r1" + strings.Repeat(",k=v", 180),
		"bad escape":       "flowtrace.run.id=r%zz1",
		"control escaped":  "flowtrace.run.id=r%0D%0A1",
		"id past 256":      "flowtrace.run.id=" + strings.Repeat("r", 257),
		"invalid member":   "flowtrace.run.id=r1,not a member",
		"invalid UTF-8":    "flowtrace.run.id=%C3%28",
		"quoted value":     `flowtrace.run.id="r1"`,
		"empty run id":     "flowtrace.run.id=",
		"bad property":     "flowtrace.run.id=r1;;",
		"non-ASCII member": "flowtrace.run.id=r1,k=é",
	}
	for name, bag := range tests {
		t.Run(name, func(t *testing.T) {
			svc, rec := newService(t)
			h := tracing.Middleware(svc, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Traceparent", tp)
			req.Header.Set("Baggage", bag)
			h.ServeHTTP(httptest.NewRecorder(), req)
			run := onlyRun(t, svc, rec)
			assert.Empty(t, run.Info.ParentRunID)
			assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", hex.EncodeToString(run.Info.TraceID[:]))
			assert.Equal(t, "00f067aa0ba902b7", hex.EncodeToString(run.Info.ParentSpanID[:]))
		})
	}
}

func TestTrustRequest(t *testing.T) {
	svc, rec := newService(t)
	h := tracing.Middleware(svc, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		tracing.WithTrustRequest(func(r *http.Request) bool { return r.Header.Get("X-Internal") == "yes" }))
	for _, internal := range []string{"yes", "no"} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
		req.Header.Set("Baggage", "flowtrace.run.id=caller,flowtrace.user.id=admin")
		req.Header.Set("X-Internal", internal)
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	settle(t, svc)
	runs := rec.Runs()
	require.Len(t, runs, 2)
	assert.Equal(t, "caller", runs[0].Info.ParentRunID)
	assert.Equal(t, "admin", runs[0].Info.UserID)
	assert.Empty(t, runs[1].Info.ParentRunID, "an untrusted request starts a fresh trace")
	assert.Empty(t, runs[1].Info.UserID, "and names no user")
}

func TestInjectExtract(t *testing.T) {
	svc, _ := newService(t)
	carrier := propagation.MapCarrier{}
	assert.False(t, tracing.Inject(context.Background(), carrier), "nothing to inject outside a run")
	assert.Empty(t, carrier)

	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{UserID: "u1"})
	require.NoError(t, err)
	rc, _ := flowtrace.RunFromContext(ctx)
	carrier["baggage"] = "k=v"
	require.True(t, tracing.Inject(ctx, carrier, tracing.WithIdentityBaggage()))
	assert.Equal(t, "flowtrace.run.id="+rc.RunID()+",flowtrace.user.id=u1,k=v", carrier["baggage"])

	p, ok := flowtrace.RemoteParentFromContext(tracing.Extract(context.Background(), carrier))
	require.True(t, ok)
	assert.Equal(t, flowtrace.RemoteParent{TraceID: rc.TraceID(), SpanID: rc.SpanID(), Sampled: true, Random: true, RunID: rc.RunID(), UserID: "u1"}, p)

	empty := context.Background()
	assert.Equal(t, empty, tracing.Extract(empty, propagation.MapCarrier{"traceparent": "junk"}))
	assert.Equal(t, empty, tracing.Extract(empty, nil))
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
}

// failing is a base RoundTripper whose every request fails.
type failing struct{}

func (failing) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("dial tcp: connection refused")
}

type status int

func (s status) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: int(s), Body: http.NoBody, Request: r}, nil
}

// TestTransportRecordsClientComponents: each request is a client
// component of the current scope, and the request names its span.
func TestTransportRecordsClientComponents(t *testing.T) {
	svc, rec := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "caller"})
	require.NoError(t, err)
	cctx, tool := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "tool"})
	cc, _ := flowtrace.ComponentFromContext(cctx)

	c := &capture{}
	var sent []string
	for range 2 {
		req := httptest.NewRequestWithContext(cctx, http.MethodPost, "https://ada:secret@api.example.test:8443/v1/items?key=sk-123&page=2#frag", nil)
		roundTrip(t, tracing.Transport(c), req)
		sent = append(sent, c.req.Header.Get("traceparent"))
	}
	_, err = tracing.Transport(failing{}).RoundTrip(httptest.NewRequestWithContext(cctx, http.MethodGet, "http://down.test/", nil))
	require.Error(t, err)
	roundTrip(t, tracing.Transport(status(http.StatusNotFound)), httptest.NewRequestWithContext(cctx, http.MethodGet, "http://api.example.test/missing", nil))
	roundTrip(t, tracing.Transport(c, tracing.WithoutClientComponents()), httptest.NewRequestWithContext(cctx, http.MethodGet, "http://api.example.test/", nil))
	rc, _ := flowtrace.RunFromContext(ctx)
	assert.Equal(t, traceparentFor(rc.TraceID(), cc.SpanID(), true), c.req.Header.Get("traceparent"), "without client components: the current span")
	tool.End(nil)
	sum, err := svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)

	run, ok := rec.Run(sum.RunID)
	require.True(t, ok)
	var clients []memory.Component
	for _, c := range run.Components {
		if c.Info.Type == tracing.TypeHTTPClient {
			clients = append(clients, c)
		}
	}
	require.Len(t, clients, 4, "two posts, one failure, one 404; none under WithoutClientComponents")
	assert.NotEqual(t, sent[0], sent[1], "each request names a parent-id of its own")
	for i, c := range clients[:2] {
		assert.Equal(t, cc.ID(), c.Info.ParentID, "a client component of the current scope")
		assert.Contains(t, sent[i], hex.EncodeToString(c.Info.SpanID[:]), "the request names its client component")
		assert.Equal(t, "POST api.example.test:8443", c.Info.Name)
		md := c.Info.Metadata.Map()
		assert.Equal(t, "POST", md[tracing.KeyMethod])
		assert.Equal(t, "https://api.example.test:8443/v1/items?key=REDACTED&page=REDACTED", md[tracing.KeyURL], "no user info, fragment or query values")
		assert.Equal(t, "api.example.test", md[tracing.KeyHost])
		assert.EqualValues(t, 8443, md[tracing.KeyPort])
		assert.EqualValues(t, http.StatusNoContent, c.Outputs[tracing.KeyStatusCode])
		assert.NoError(t, c.Err)
		assert.False(t, c.End.Before(c.Info.Time), "a duration")
	}
	assert.Equal(t, "*errors.errorString", clients[2].Outputs[tracing.KeyErrorType])
	assert.ErrorContains(t, clients[2].Err, "connection refused")
	assert.Equal(t, "404", clients[3].Outputs[tracing.KeyErrorType])
	assert.ErrorIs(t, clients[3].Err, tracing.ErrErrorStatus)
}

// TestTransportUnsampledNamesFreshSpans: an unsampled run records nothing,
// yet each of its requests names a span of its own.
func TestTransportUnsampledNamesFreshSpans(t *testing.T) {
	svc, rec := newService(t, flowtrace.WithSampler(flowtrace.NeverSample()))
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	rc, _ := flowtrace.RunFromContext(ctx)
	seen := map[string]bool{}
	for range 3 {
		c := &capture{}
		roundTrip(t, tracing.Transport(c), httptest.NewRequestWithContext(ctx, http.MethodGet, "http://example.test/", nil))
		tp := c.req.Header.Get("traceparent")
		assert.Contains(t, tp, "-"+rc.TraceIDString()+"-")
		assert.True(t, strings.HasSuffix(tp, "-02"), "unsampled, random: %q", tp)
		seen[tp] = true
	}
	assert.Len(t, seen, 3)
	_, _ = svc.EndTracers(within(t, ctx), nil, nil)
	assert.Zero(t, rec.Len())
}

// TestTransportCountsRedirects: each request http.Client sends while
// following redirects is a client component of its own, numbered.
func TestTransportCountsRedirects(t *testing.T) {
	svc, rec := newService(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/a", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/b", http.StatusFound) })
	mux.HandleFunc("/b", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/c", http.StatusFound) })
	mux.HandleFunc("/c", func(http.ResponseWriter, *http.Request) {})
	srv, _ := serve(t, mux)
	client := &http.Client{Transport: tracing.Transport(srv.Client().Transport)}
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	get(t, ctx, client, srv.URL+"/a", nil)
	sum, err := svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	run, _ := rec.Run(sum.RunID)
	require.Len(t, run.Components, 3, "one client component per request sent")
	for i, c := range run.Components {
		md := c.Info.Metadata.Map()
		if i == 0 {
			assert.NotContains(t, md, tracing.KeyResendCount, "the first request was not resent")
		} else {
			assert.EqualValues(t, i, md[tracing.KeyResendCount])
		}
	}
	assert.EqualValues(t, http.StatusFound, run.Components[0].Outputs[tracing.KeyStatusCode])
	assert.EqualValues(t, http.StatusOK, run.Components[2].Outputs[tracing.KeyStatusCode])
}

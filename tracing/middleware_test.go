package tracing_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
	"github.com/flowtrace/flowtrace/tracing"
)

func TestMiddlewareRecordsARunPerRequest(t *testing.T) {
	svc, rec := newService(t)
	h := tracing.Middleware(svc, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc, ok := flowtrace.RunFromContext(r.Context())
		if !assert.True(t, ok, "the handler's ctx carries the run") {
			return
		}
		cctx, c := svc.TraceComponent(r.Context(), flowtrace.ComponentInfo{Name: "work"})
		svc.SetOutputs(cctx, map[string]any{"n": 1})
		c.End(nil)
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, rc.RunID())
	}))
	srv, done := serve(t, h)
	resp := get(t, context.Background(), srv.Client(), srv.URL+"/items/7?secret=x", nil)
	wait(t, done, 1)
	assert.Equal(t, http.StatusCreated, resp.StatusCode)

	run := onlyRun(t, svc, rec)
	assert.Equal(t, "GET /items/7", run.Info.RunName, "default name: method and path, no query")
	assert.Empty(t, run.Info.ParentRunID, "a request without headers starts a top-level run")
	assert.Equal(t, [8]byte{}, run.Info.ParentSpanID)
	assert.Equal(t, map[string]any{tracing.KeyMethod: "GET", tracing.KeyPath: "/items/7", tracing.KeyHost: srv.Listener.Addr().String()}, run.Info.Metadata.Map())
	assert.True(t, run.Ended)
	require.NoError(t, run.Err)
	assert.Equal(t, int64(http.StatusCreated), run.Outputs[tracing.KeyStatusCode])
	assert.Equal(t, int64(len(run.Info.RunID)), run.Outputs[tracing.KeyBodySize])
	require.Len(t, run.Components, 1)
	assert.Equal(t, "work", run.Components[0].Info.Name)
}

func TestMiddlewareRunNaming(t *testing.T) {
	svc, rec := newService(t)
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	byName := tracing.Middleware(svc, next, tracing.WithRunName(func(r *http.Request) string { return "named " + r.Method }))
	byInfo := tracing.Middleware(svc, next,
		tracing.WithRunName(func(*http.Request) string { return "fallback" }),
		tracing.WithRunInfo(func(r *http.Request) flowtrace.RunInfo {
			return flowtrace.RunInfo{ProjectName: "shop", UserID: r.Header.Get("X-User"), Metadata: map[string]any{"tenant": "t1", tracing.KeyPath: "/masked-path"}}
		}))

	byName.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/x", nil))
	tracing.Middleware(svc, next).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/"+strings.Repeat("é", 300), nil))
	req := httptest.NewRequest(http.MethodGet, "/y", nil)
	req.Header.Set("X-User", "ada")
	byInfo.ServeHTTP(httptest.NewRecorder(), req)

	settle(t, svc)
	runs := rec.Runs()
	require.Len(t, runs, 3)
	assert.Equal(t, "named POST", runs[0].Info.RunName)
	long := runs[1].Info.RunName
	assert.LessOrEqual(t, len(long), 256, "a client's long path does not make a long run name")
	assert.True(t, utf8.ValidString(long) && strings.HasPrefix(long, "GET /éé") && strings.HasSuffix(long, "…"), "cut at a rune: %q", long)
	runs = runs[1:]
	assert.Equal(t, "fallback", runs[1].Info.RunName, "WithRunInfo's empty name falls back to WithRunName")
	assert.Equal(t, "shop", runs[1].Info.ProjectName)
	assert.Equal(t, "ada", runs[1].Info.UserID)
	assert.Equal(t, "t1", runs[1].Info.Metadata.Map()["tenant"])
	assert.Equal(t, "/masked-path", runs[1].Info.Metadata.Map()[tracing.KeyPath], "the caller's metadata wins over the middleware's")
	assert.Equal(t, "GET", runs[1].Info.Metadata.Map()[tracing.KeyMethod])
}

func TestMiddlewareStatus(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		status  any // nil: no status recorded
		err     error
	}{
		{"nothing written is 200", func(http.ResponseWriter, *http.Request) {}, int64(200), nil},
		{"write implies 200", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }, int64(200), nil},
		{"informational first", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusAccepted)
		}, int64(202), nil},
		{"first final status counts", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			w.WriteHeader(http.StatusOK)
		}, int64(404), nil},
		{"4xx is no run error", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadRequest) }, int64(400), nil},
		{"5xx is a run error", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }, int64(503), tracing.ErrServerError},
		{"http.Error 500", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "no", http.StatusInternalServerError) }, int64(500), tracing.ErrServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, rec := newService(t)
			srv, done := serve(t, tracing.Middleware(svc, tt.handler))
			resp := get(t, context.Background(), srv.Client(), srv.URL, nil)
			wait(t, done, 1)
			run := onlyRun(t, svc, rec)
			assert.Equal(t, tt.status, run.Outputs[tracing.KeyStatusCode])
			assert.Equal(t, tt.status, int64(resp.StatusCode), "recorded status is the one sent")
			if tt.err == nil {
				assert.NoError(t, run.Err)
				return
			}
			require.ErrorIs(t, run.Err, tt.err)
			assert.Contains(t, run.Err.Error(), fmt.Sprint(tt.status))
		})
	}
}

// TestMiddlewarePanicIsRecordedAndRepanicked: net/http sees the very
// value the handler panicked with, and the run records it.
func TestMiddlewarePanicIsRecordedAndRepanicked(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name  string
		value any
		stack bool
	}{
		{"error", boom, true},
		{"string", "kaput", true},
		{"ErrAbortHandler", http.ErrAbortHandler, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, rec := newService(t)
			h := tracing.Middleware(svc, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusAccepted)
				panic(tt.value)
			}))
			got := func() (p any) {
				defer func() { p = recover() }()
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
				return nil
			}()
			assert.Equal(t, tt.value, got, "the panic goes on with the same value")

			run := onlyRun(t, svc, rec)
			assert.True(t, run.Ended)
			require.ErrorIs(t, run.Err, tracing.ErrHandlerPanic)
			if err, ok := tt.value.(error); ok {
				assert.ErrorIs(t, run.Err, err)
			}
			assert.Contains(t, run.Err.Error(), fmt.Sprint(tt.value))
			assert.Equal(t, int64(http.StatusAccepted), run.Outputs[tracing.KeyStatusCode])
			stack, _ := run.Outputs[tracing.KeyStack].(string)
			if tt.stack {
				assert.Contains(t, stack, "middleware_test.go", "the stack names the panicking handler")
			} else {
				assert.Empty(t, stack, "an abort is deliberate: no stack")
			}
		})
	}
}

// TestMiddlewarePanicOverTheWire: with a real server, a panicking handler
// aborts the response as it would untraced, and its run is delivered.
func TestMiddlewarePanicOverTheWire(t *testing.T) {
	svc, rec := newService(t)
	srv, done := serve(t, tracing.Middleware(svc, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("kaput")
	})))
	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err, "net/http aborts the connection of a panicking handler")
	wait(t, done, 1)
	run := onlyRun(t, svc, rec)
	require.ErrorIs(t, run.Err, tracing.ErrHandlerPanic)
	assert.NotContains(t, run.Outputs, tracing.KeyStatusCode, "no status was sent")
}

func TestMiddlewareGoexit(t *testing.T) {
	svc, rec := newService(t)
	h := tracing.Middleware(svc, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		runtime.Goexit()
	}))
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}()
	wait(t, exited, 1)
	assert.ErrorIs(t, onlyRun(t, svc, rec).Err, tracing.ErrHandlerExit)
}

// gated is an exporter whose EndRun reports that it was called, then
// waits for release before recording it.
type gated struct {
	*memory.Exporter
	entered chan struct{}
	release chan struct{}
}

func (g *gated) StartRun(ctx context.Context, info flowtrace.RunStart) (flowtrace.RunExporter, error) {
	re, err := g.Exporter.StartRun(ctx, info)
	return gatedRun{re, g}, err
}

type gatedRun struct {
	flowtrace.RunExporter
	g *gated
}

func (r gatedRun) EndRun(ctx context.Context, end flowtrace.RunEnd) error {
	close(r.g.entered)
	<-r.g.release
	return r.RunExporter.EndRun(ctx, end)
}

// TestMiddlewareClientHangUp: the client gives up while the handler is
// still working; under WithDeliveryWait the middleware still waits for the
// run's last records to be delivered.
func TestMiddlewareClientHangUp(t *testing.T) {
	exp := &gated{Exporter: memory.New(), entered: make(chan struct{}), release: make(chan struct{})}
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(exp))
	require.NoError(t, err)
	defer func() { assert.NoError(t, svc.Shutdown(within(t, context.Background()))) }()
	started := make(chan struct{})
	srv, done := serve(t, tracing.Middleware(svc, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done() // the client hung up
		cctx, c := svc.TraceComponent(r.Context(), flowtrace.ComponentInfo{Name: "after hang-up"})
		svc.SetOutputs(cctx, map[string]any{"answer": 42})
		c.End(nil)
		svc.SetOutputs(r.Context(), map[string]any{"last": "words"})
	}), tracing.WithDeliveryWait(waitLimit)))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	wait(t, started, 1)
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)

	select {
	case <-exp.entered:
		// The run's end is being delivered, and the middleware, whose
		// request is cancelled, is still waiting for it.
	case <-done:
		t.Fatal("the middleware returned before the run's end was delivered")
	}
	close(exp.release)
	wait(t, done, 1)

	runs := exp.Runs()
	require.Len(t, runs, 1)
	run := runs[0]
	assert.True(t, run.Ended, "the run's end was delivered")
	assert.Equal(t, "words", run.Outputs["last"])
	require.Len(t, run.Components, 1)
	assert.Equal(t, map[string]any{"answer": int64(42)}, run.Components[0].Outputs)
}

// TestMiddlewareUntracedOnFailure: a service that cannot start a run does
// not fail the request.
func TestMiddlewareUntracedOnFailure(t *testing.T) {
	svc, err := flowtrace.NewTraceService()
	require.NoError(t, err)
	require.NoError(t, svc.Shutdown(within(t, context.Background())))
	disabled, err := flowtrace.NewTraceService(flowtrace.WithDisabled(true))
	require.NoError(t, err)

	for name, s := range map[string]*flowtrace.TraceService{"shut down": svc, "disabled": disabled, "nil": nil} {
		t.Run(name, func(t *testing.T) {
			var inRun bool
			h := tracing.Middleware(s, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, inRun = flowtrace.RunFromContext(r.Context())
				w.WriteHeader(http.StatusTeapot)
			}))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
			assert.Equal(t, http.StatusTeapot, w.Code)
			assert.False(t, inRun)
		})
	}
}

func TestMiddlewareResponseWriterKeepsItsInterfaces(t *testing.T) {
	svc, rec := newService(t)
	release := make(chan struct{})
	srv, done := serve(t, tracing.Middleware(svc, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/stream":
			_, hj := w.(http.Hijacker)
			_, ok := w.(http.Flusher)
			_, rf := w.(io.ReaderFrom)
			assert.True(t, ok && hj && rf, "an HTTP/1 writer is a Flusher, Hijacker and ReaderFrom")
			assert.NoError(t, http.NewResponseController(w).SetWriteDeadline(time.Now().Add(waitLimit)),
				"ResponseController reaches the original through Unwrap")
			_, _ = io.WriteString(w, "first\n")
			w.(http.Flusher).Flush()
			<-release // the client has read "first": the flush went through
			_, _ = io.Copy(w, strings.NewReader("second\n"))
		case "/hijack":
			conn, buf, err := w.(http.Hijacker).Hijack()
			if !assert.NoError(t, err) {
				return
			}
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
			_ = buf.Flush()
			_ = conn.Close()
		}
	})))

	resp, err := srv.Client().Get(srv.URL + "/stream")
	require.NoError(t, err)
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "first\n", line)
	close(release)
	rest, err := io.ReadAll(br)
	require.NoError(t, err)
	assert.Equal(t, "second\n", string(rest))
	require.NoError(t, resp.Body.Close())
	wait(t, done, 1)

	resp, err = srv.Client().Get(srv.URL + "/hijack")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "hi", string(body))
	require.NoError(t, resp.Body.Close())
	wait(t, done, 1)

	settle(t, svc)
	runs := rec.Runs()
	require.Len(t, runs, 2)
	assert.Equal(t, int64(200), runs[0].Outputs[tracing.KeyStatusCode])
	assert.Equal(t, int64(len("first\nsecond\n")), runs[0].Outputs[tracing.KeyBodySize])
	assert.Equal(t, true, runs[1].Outputs[tracing.KeyHijacked])
	assert.NotContains(t, runs[1].Outputs, tracing.KeyStatusCode, "a hijacked connection's status is the handler's business")
}

func TestMiddlewareResponseWriterAddsNoInterface(t *testing.T) {
	svc, _ := newService(t)
	var hj, push bool
	h := tracing.Middleware(svc, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, hj = w.(http.Hijacker)
		_, push = w.(http.Pusher)
		_, _, err := http.NewResponseController(w).Hijack()
		assert.ErrorIs(t, err, http.ErrNotSupported)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	assert.False(t, hj, "httptest.ResponseRecorder is no Hijacker, so neither is the wrapper")
	assert.False(t, push)
}

// TestMiddlewareConcurrentRequests: 200 requests at once, each from its
// own caller run, each served in its own run linked to exactly its caller.
func TestMiddlewareConcurrentRequests(t *testing.T) {
	const n = 200
	caller, callerRec := newService(t)
	callee, calleeRec := newService(t)
	srv, done := serve(t, tracing.Middleware(callee, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc, _ := flowtrace.RunFromContext(r.Context())
		cctx, c := callee.TraceComponent(r.Context(), flowtrace.ComponentInfo{Name: "echo"})
		callee.AddLog(cctx, flowtrace.Log{Name: "from", Message: rc.ParentRunID()})
		c.End(nil)
		_, _ = io.WriteString(w, rc.ParentRunID())
	})))
	client := &http.Client{Transport: tracing.Transport(srv.Client().Transport, tracing.WithoutClientComponents())}

	var wg sync.WaitGroup
	callerRuns := make([]string, n)
	for i := range n {
		wg.Go(func() {
			ctx, err := caller.StartTracers(context.Background(), flowtrace.RunInfo{RunName: fmt.Sprint("caller ", i)})
			if !assert.NoError(t, err) {
				return
			}
			rc, _ := flowtrace.RunFromContext(ctx)
			callerRuns[i] = rc.RunID()
			cctx, c := caller.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "call"})
			req, _ := http.NewRequestWithContext(cctx, http.MethodGet, srv.URL, nil)
			resp, err := client.Do(req)
			if assert.NoError(t, err) {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				assert.Equal(t, rc.RunID(), string(body), "the callee's run names this caller as its parent")
			}
			c.End(err)
			_, err = caller.EndTracers(within(t, ctx), nil, nil)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	wait(t, done, n)
	settle(t, callee)

	byID := map[string]int{}
	for _, r := range callerRec.Runs() {
		byID[r.Info.RunID] = 0
	}
	require.Len(t, byID, n)
	callers := map[string]struct {
		trace [16]byte
		span  [8]byte
	}{}
	for _, r := range callerRec.Runs() {
		callers[r.Info.RunID] = struct {
			trace [16]byte
			span  [8]byte
		}{r.Info.TraceID, r.Components[0].Info.SpanID}
	}
	traces := map[[16]byte]bool{}
	for _, r := range calleeRec.Runs() {
		c, ok := callers[r.Info.ParentRunID]
		require.True(t, ok, "callee run %s names an unknown parent %q", r.Info.RunID, r.Info.ParentRunID)
		byID[r.Info.ParentRunID]++
		assert.Equal(t, c.trace, r.Info.TraceID, "callee in its caller's trace")
		assert.Equal(t, c.span, r.Info.ParentSpanID, "callee under its caller's component")
		require.Len(t, r.Components, 1)
		assert.Equal(t, r.Info.ParentRunID, r.Components[0].Logs[0].Message, "the callee's writes went to its own run")
		assert.False(t, traces[r.Info.TraceID], "two callee runs in one trace")
		traces[r.Info.TraceID] = true
		_, dup := callers[r.Info.RunID]
		assert.False(t, dup, "a callee run reuses its caller's run ID")
	}
	for id, k := range byID {
		assert.Equal(t, 1, k, "caller %s has %d callee runs", id, k)
	}
	for _, id := range callerRuns {
		assert.Contains(t, byID, id)
	}
}

// uncomparable is a context type whose values cannot be compared with ==.
type uncomparable struct {
	context.Context
	_ []int
}

func TestMiddlewareAcceptsAnyContext(t *testing.T) {
	svc, rec := newService(t)
	disabled, err := flowtrace.NewTraceService(flowtrace.WithDisabled(true))
	require.NoError(t, err)
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	for _, s := range []*flowtrace.TraceService{disabled, svc} {
		req := httptest.NewRequestWithContext(uncomparable{Context: context.Background()}, http.MethodGet, "/", nil)
		w := httptest.NewRecorder()
		assert.NotPanics(t, func() { tracing.Middleware(s, ok).ServeHTTP(w, req) })
		assert.Equal(t, http.StatusNoContent, w.Code)
	}
	settle(t, svc)
	assert.Equal(t, 1, rec.Len())
}

// TestMiddlewareInsideARun: a request whose ctx already carries a run
// (one middleware inside another, say) is served in a nested run.
func TestMiddlewareInsideARun(t *testing.T) {
	svc, rec := newService(t)
	inner := tracing.Middleware(svc, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), tracing.WithRunName(func(*http.Request) string { return "inner" }))
	outer := tracing.Middleware(svc, inner, tracing.WithRunName(func(*http.Request) string { return "outer" }))
	outer.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	settle(t, svc)
	runs := rec.Runs()
	require.Len(t, runs, 2)
	byName := map[string]memory.Run{runs[0].Info.RunName: runs[0], runs[1].Info.RunName: runs[1]}
	assert.Equal(t, byName["outer"].Info.RunID, byName["inner"].Info.ParentRunID)
	assert.Equal(t, byName["outer"].Info.TraceID, byName["inner"].Info.TraceID)
}

// TestMiddlewareHTTP2: over HTTP/2 the writer is a Flusher and no
// Hijacker, as net/http's own is.
func TestMiddlewareHTTP2(t *testing.T) {
	svc, rec := newService(t)
	var hj, fl bool
	srv := httptest.NewUnstartedServer(tracing.Middleware(svc, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, hj = w.(http.Hijacker)
		_, fl = w.(http.Flusher)
		_, _ = io.WriteString(w, r.Proto)
		w.(http.Flusher).Flush()
	})))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, "HTTP/2.0", string(body))
	srv.Close() // returns once the handler has: its writes are visible
	assert.False(t, hj, "an HTTP/2 stream cannot be hijacked")
	assert.True(t, fl)
	run := onlyRun(t, svc, rec)
	assert.Equal(t, int64(200), run.Outputs[tracing.KeyStatusCode])
}

// TestMiddlewareDeliveryWaitIsBounded: under WithDeliveryWait, an exporter
// that does not finish delivering holds the response only until the wait
// is over.
func TestMiddlewareDeliveryWaitIsBounded(t *testing.T) {
	exp := &gated{Exporter: memory.New(), entered: make(chan struct{}), release: make(chan struct{})}
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(exp))
	require.NoError(t, err)
	defer func() { assert.NoError(t, svc.Shutdown(within(t, context.Background()))) }()
	h := tracing.Middleware(svc, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), tracing.WithDeliveryWait(time.Millisecond))
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}()
	wait(t, exp.entered, 1)
	wait(t, returned, 1) // while EndRun is still held
	close(exp.release)
}

package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/flowtrace/flowtrace"
)

// Errors the Middleware records as a run's error. Test for them with
// errors.Is on a recorded run's error.
var (
	// ErrServerError is the error of a run whose handler answered with a
	// 5xx status; the message names the status.
	ErrServerError = errors.New("tracing: server error status")
	// ErrHandlerPanic is the error of a run whose handler panicked. It
	// wraps the panic value when that is an error (http.ErrAbortHandler,
	// say), and otherwise quotes it.
	ErrHandlerPanic = errors.New("tracing: handler panicked")
	// ErrHandlerExit is the error of a run whose handler's goroutine was
	// ended by runtime.Goexit (a t.FailNow in a test handler, say).
	ErrHandlerExit = errors.New("tracing: handler exited by runtime.Goexit")
)

// Keys of what the Middleware records about a request: in the run's
// metadata (method, path, host) and in its outputs (status, size, hijack,
// panic stack).
const (
	KeyMethod     = "http.request.method"
	KeyPath       = "url.path"
	KeyHost       = "server.address"
	KeyStatusCode = "http.response.status_code"
	KeyBodySize   = "http.response.body.size"
	KeyHijacked   = "http.hijacked"
	KeyStack      = "exception.stacktrace"
)

// Middleware returns a handler that serves each request of next inside a
// run of svc, for goroutine-per-request servers.
//
// The run is named "METHOD path", cut to 256 bytes (see WithRunName and
// WithRunInfo), and records the method, path and host in its metadata.
// When the request carries a valid W3C traceparent (and, from a flowtrace
// caller, baggage with its run ID), the run continues the caller's: it
// gets its own run ID, the caller's run ID as ParentRunID, the caller's
// trace ID, a span that is a child of the caller's span, the caller's
// sampling decision and random flag, and the caller's tracestate, which
// the Transport and Inject send on (see Extract and WithTrustRequest). Headers are
// untrusted: an invalid traceparent is ignored and the run starts a new
// trace; invalid baggage is ignored and the run continues the trace
// without a parent run.
//
// The run ends when next returns, with the response status and body size
// as outputs, the route when the mux matched a pattern (Go 1.22's
// Request.Pattern, its path as http.route), and, for a 5xx status, an
// error wrapping ErrServerError (the status also as error.type). A handler
// attaches the cause of a failure with SetError. A
// panic in next is recorded as the run's error (ErrHandlerPanic, with the
// stack in the outputs) and then re-raised with the same value, so that
// net/http handles it as it would without the middleware (quietly for
// http.ErrAbortHandler).
//
// Ending the run never waits for exporters: the run's end is queued (and
// counted, delivered, dropped or failed, like any other record) and the
// response completes at once, however slow or hung an exporter is. What an
// exporter fails to deliver still reaches the service's error handler and
// its Stats. Holds on the run (flowtrace's Hold) still open when the
// handler returns are not waited for either: the run ends, their
// components end with ErrComponentNotEnded, and what they write later is
// counted as late. WithDeliveryWait makes the Middleware wait, bounded,
// for the holds and the delivery before the response completes.
//
// Tracing never fails a request: if svc cannot start a run (after
// Shutdown, say), next serves it untraced. An unsampled run costs next
// nothing more than its ctx.
//
// The ResponseWriter next receives records the status; it implements
// http.Flusher (a no-op where the original cannot flush), io.ReaderFrom
// and io.StringWriter, and http.Hijacker and http.Pusher exactly when the
// original does, and Unwrap, so http.ResponseController reaches the
// original's other methods (deadlines, full duplex).
//
// The handler is safe for concurrent use. A nil svc serves untraced.
func Middleware(svc *flowtrace.TraceService, next http.Handler, opts ...Option) http.Handler {
	if next == nil {
		next = http.NotFoundHandler()
	}
	return &middleware{svc: svc, next: next, cfg: newConfig(opts)}
}

type middleware struct {
	svc  *flowtrace.TraceService
	next http.Handler
	cfg  config
}

func (m *middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if m.cfg.trust == nil || m.cfg.trust(r) {
		ctx = continueRemote(ctx, r.Header[keyTraceparent], r.Header[keyTracestate], r.Header[keyBaggage])
	}
	outer, _ := flowtrace.RunFromContext(ctx)
	rctx, err := m.svc.StartTracers(ctx, m.runInfo(r))
	// A disabled service returns ctx as it was: no run, or the run a
	// caller's ctx already carried. (Contexts are not compared: a
	// context type need not be comparable.)
	rc, ok := flowtrace.RunFromContext(rctx)
	if err != nil || !ok || rc == outer {
		m.next.ServeHTTP(w, r)
		return
	}
	if !rc.Sampled() {
		// Identity only, for nested runs and outgoing requests: nothing
		// to record, nothing to end.
		m.next.ServeHTTP(w, r.WithContext(rctx))
		return
	}
	rec, ww := newRecorder(w)
	cause := &errorSlot{} // what SetError attaches
	rctx = context.WithValue(rctx, errorSlotKey{}, cause)
	r = r.WithContext(rctx)
	done := false
	defer func() {
		if done {
			return
		}
		p := recover()
		m.end(rctx, r, rec, cause, p, true)
		if p != nil {
			panic(p) // inside the deferred call, so the original stack is still printed
		}
		// p == nil: runtime.Goexit, which goes on by itself.
	}()
	m.next.ServeHTTP(ww, r)
	done = true
	m.end(rctx, r, rec, cause, nil, false)
}

// route returns the path part of the pattern a ServeMux matched r with
// (Go 1.22's Request.Pattern, "[METHOD ][HOST]/PATH"), or "".
func route(r *http.Request) string {
	p := r.Pattern
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[i:]
	}
	return ""
}

func (m *middleware) runInfo(r *http.Request) flowtrace.RunInfo {
	var info flowtrace.RunInfo
	if m.cfg.runInfo != nil {
		info = m.cfg.runInfo(r)
	}
	if info.RunName == "" && m.cfg.runName != nil {
		info.RunName = m.cfg.runName(r)
	}
	if info.RunName == "" {
		info.RunName = defaultRunName(r)
	}
	md := make(map[string]any, len(info.Metadata)+3)
	for k, v := range info.Metadata {
		md[k] = v
	}
	for _, kv := range [...][2]string{{KeyMethod, r.Method}, {KeyPath, r.URL.Path}, {KeyHost, r.Host}} {
		if _, set := md[kv[0]]; !set {
			md[kv[0]] = kv[1]
		}
	}
	info.Metadata = md
	return info
}

// end ends the run of rctx, which served r. p is what recover returned
// when the handler did not return normally.
func (m *middleware) end(rctx context.Context, r *http.Request, rec *recorder, cause *errorSlot, p any, abnormal bool) {
	if rec.status == 0 && !abnormal && !rec.hijacked {
		rec.status = http.StatusOK // what net/http sends for a handler that wrote nothing
	}
	outputs := make(map[string]any, 5)
	if rec.status != 0 {
		outputs[KeyStatusCode] = rec.status
	}
	if rt := route(r); rt != "" {
		outputs[KeyRoute] = rt
	}
	outputs[KeyBodySize] = rec.size
	if rec.hijacked {
		outputs[KeyHijacked] = true
	}
	var err error
	switch {
	case abnormal && p == nil:
		err = ErrHandlerExit
	case abnormal:
		if e, ok := p.(error); ok {
			err = fmt.Errorf("%w: %w", ErrHandlerPanic, e)
		} else {
			err = fmt.Errorf("%w: %v", ErrHandlerPanic, p)
		}
		if p != http.ErrAbortHandler { //nolint:errorlint // net/http compares it so
			outputs[KeyStack] = string(debug.Stack())
		}
	case rec.status >= 500:
		err = fmt.Errorf("%w: %d %s", ErrServerError, rec.status, http.StatusText(rec.status))
		outputs[KeyErrorType] = strconv.Itoa(rec.status)
	}
	if c := cause.load(); c != nil {
		err = errors.Join(c, err) // the cause first; Join drops a nil err
	}
	// The ctx carries the run and ignores the request's cancellation.
	// Without a delivery wait it is done before EndTracers is called:
	// EndTracers then closes the run, queues its end and returns at once.
	var ctx context.Context
	var cancel context.CancelFunc
	if m.cfg.deliveryWait > 0 {
		ctx, cancel = context.WithTimeout(context.WithoutCancel(rctx), m.cfg.deliveryWait)
	} else {
		ctx, cancel = context.WithCancel(context.WithoutCancel(rctx))
		cancel()
	}
	defer cancel()
	// Its only errors are holds still open and a delivery still pending
	// when ctx is done: delivery goes on in the background, its failures
	// reported to the error handler and counted in svc.Stats, and the
	// response is not the place to report them.
	_, _ = m.svc.EndTracers(ctx, outputs, err)
}

// maxDefaultNameLen bounds the default run name: the path comes from the
// client, and a run name is exported as it is, with every record.
const maxDefaultNameLen = 256

// defaultRunName returns "METHOD path", cut to maxDefaultNameLen bytes at
// a rune boundary and marked with "…" when longer.
func defaultRunName(r *http.Request) string {
	name := r.Method + " " + r.URL.Path
	if len(name) <= maxDefaultNameLen {
		return name
	}
	cut := maxDefaultNameLen - len("…")
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return name[:cut] + "…"
}

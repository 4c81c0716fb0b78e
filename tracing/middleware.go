package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
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
	info := m.runInfo(r)
	rctx, err := m.svc.StartTracers(ctx, info)
	putFields(info.Metadata) // snapshotted by StartTracers
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
	s := &serving{Context: rctx}
	ww := s.rec.wrap(w)
	r = r.WithContext(s)
	done := false
	defer func() {
		if done {
			return
		}
		p := recover()
		m.end(s, r, p, true)
		if p != nil {
			panic(p) // inside the deferred call, so the original stack is still printed
		}
		// p == nil: runtime.Goexit, which goes on by itself.
	}()
	m.next.ServeHTTP(ww, r)
	done = true
	m.end(s, r, nil, false)
}

// serving is what the Middleware keeps for one recorded request, in one
// allocation: it is the ctx the handler gets (the run's, which it
// embeds, answering SetError's key with cause), and the recorder of the
// response.
type serving struct {
	context.Context
	cause errorSlot // what SetError attaches
	rec   recorder
}

// Value returns the request's error slot for SetError's key, and what the
// run's ctx holds for any other.
func (s *serving) Value(key any) any {
	if _, ok := key.(errorSlotKey); ok {
		return &s.cause
	}
	return s.Context.Value(key)
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
	md := getFields()
	for k, v := range info.Metadata {
		md[k] = v
	}
	if _, set := md[KeyMethod]; !set {
		md[KeyMethod] = methodValue(r.Method)
	}
	if _, set := md[KeyPath]; !set {
		md[KeyPath] = r.URL.Path
	}
	if _, set := md[KeyHost]; !set {
		md[KeyHost] = r.Host
	}
	info.Metadata = md
	return info
}

// end ends the run of s, which served r. p is what recover returned
// when the handler did not return normally.
func (m *middleware) end(s *serving, r *http.Request, p any, abnormal bool) {
	rec := &s.rec
	if rec.status == 0 && !abnormal && !rec.hijacked {
		rec.status = http.StatusOK // what net/http sends for a handler that wrote nothing
	}
	outputs := getFields()
	defer putFields(outputs) // snapshotted by EndTracers
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
	if c := s.cause.load(); c != nil {
		err = errors.Join(c, err) // the cause first; Join drops a nil err
	}
	// The ctx carries the run and ignores the request's cancellation.
	// Without a delivery wait it is done before EndTracers is called:
	// EndTracers then closes the run, queues its end and returns at once.
	var ctx context.Context = doneCtx{s}
	if m.cfg.deliveryWait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(s), m.cfg.deliveryWait)
		defer cancel()
	}
	// Its only errors are holds still open and a delivery still pending
	// when ctx is done: delivery goes on in the background, its failures
	// reported to the error handler and counted in svc.Stats, and the
	// response is not the place to report them.
	_, _ = m.svc.EndTracers(ctx, outputs, err)
}

// doneCtx has the values of the request's ctx, and neither its deadline
// nor its cancellation: it is done from the start. (One pointer: it is a
// Context without an allocation.)
type doneCtx struct{ *serving }

func (doneCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (doneCtx) Done() <-chan struct{}       { return closedChan }
func (doneCtx) Err() error                  { return context.Canceled }

// closedChan is the Done channel of every doneCtx.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

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

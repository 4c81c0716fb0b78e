package otelspans

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowtrace/flowtrace/internal/goid"
)

// The sender of an exporter NewOTLP builds: the queue of ended spans, and
// the one goroutine that posts them to the backend.
//
//	span End ──► current batch ──(512 spans)──► sealed batches ──► sender goroutine ──► POST
//	              └──────── at most 2,048 spans unsent: End waits ────────┘      (gzip, retries)
//
// A span is encoded into the current batch when it ends, under mu. The
// batch is sealed when it holds maxBatch spans, when the batch timeout
// passes, on a flush and at shutdown; the sender goroutine posts sealed
// batches one at a time, retrying 429, 502, 503, 504 and connection
// errors within the export timeout. While the batches waiting hold
// maxQueue spans, End waits (the wait reaches flowtrace's queue, which
// counts what it drops).
//
// States: open (spans accepted) → closed (Shutdown called: a span that
// ends is counted failed; the goroutine posts what was accepted, under
// Shutdown's ctx, then exits). Every span is counted once, exported or
// failed, by the time Shutdown returns.
type sender struct {
	url        string
	header     http.Header
	client     *http.Client
	transport  *http.Transport
	gzip       bool
	timeout    time.Duration // per batch, retries included
	interval   time.Duration // batch timeout
	maxBatch   int
	maxQueue   int
	resource   []byte // the encoded Resource
	resSchema  string
	onError    func(error)
	retryFirst time.Duration // the first retry's delay, before jitter

	ended    atomic.Uint64
	exported atomic.Uint64
	failed   atomic.Uint64

	mu      sync.Mutex
	notFull sync.Cond
	cur     *batch
	sealed  []*batch
	free    []*batch
	queued  int // spans in cur and sealed
	closed  bool
	lastErr error

	wake    chan struct{} // capacity 1: a batch was sealed
	flushCh chan chan struct{}
	stopCh  chan struct{}
	done    chan struct{} // closed when the goroutine returns

	stopCtx context.Context // canceled when Shutdown's ctx ends
	cancel  context.CancelFunc

	// The errors for the handler, delivered by the reporter goroutine so
	// that a handler that blocks holds up neither the exports nor
	// Shutdown past its ctx.
	reports        []error
	reportsDropped int
	stopped        bool          // the sending goroutine returned
	reportCond     sync.Cond     // on mu: a report queued, or stopped
	reported       chan struct{} // closed when the reporter returns
	queuedReports  uint64        // errors queued (dropped ones too), ever
	doneReports    uint64        // errors delivered (or counted dropped), ever
	deliveredCh    chan struct{} // closed, and replaced, when doneReports grows
	reporterID     atomic.Int64  // the reporter's goroutine id

	// The sender goroutine's own buffers.
	body []byte
	zbuf bytes.Buffer
	zw   *gzip.Writer
	resp []byte
}

// batch is the spans of one request, grouped by instrumentation scope.
type batch struct {
	scopes []scopeSpans
	n      int
}

type scopeSpans struct {
	t     *otlpTracer
	spans []byte // encoded Span messages, each as field ScopeSpans.spans
}

// spans returns the buffer of t's spans in b.
func (b *batch) spans(t *otlpTracer) *[]byte {
	for i := range b.scopes {
		if b.scopes[i].t == t {
			return &b.scopes[i].spans
		}
	}
	if len(b.scopes) < cap(b.scopes) { // reuse the buffer of an earlier batch
		b.scopes = b.scopes[:len(b.scopes)+1]
		s := &b.scopes[len(b.scopes)-1]
		s.t, s.spans = t, s.spans[:0]
		return &s.spans
	}
	b.scopes = append(b.scopes, scopeSpans{t: t})
	return &b.scopes[len(b.scopes)-1].spans
}

func newSender() *sender {
	q := &sender{
		wake:       make(chan struct{}, 1),
		flushCh:    make(chan chan struct{}),
		stopCh:     make(chan struct{}),
		done:       make(chan struct{}),
		maxBatch:   512,
		maxQueue:   2048,
		interval:   5 * time.Second,
		timeout:    defaultExportTimeout,
		retryFirst: time.Second,
	}
	q.notFull.L = &q.mu
	q.reportCond.L = &q.mu
	q.reported = make(chan struct{})
	q.deliveredCh = make(chan struct{})
	q.cur = &batch{}
	q.stopCtx, q.cancel = context.WithCancel(context.Background())
	return q
}

func (q *sender) start() {
	go q.run()
	go q.report()
}

// maxReports bounds the errors waiting for a handler that does not keep
// up; those beyond are counted, and the count is reported.
const maxReports = 1024

// reportAsync queues err for the error handler.
func (q *sender) reportAsync(err error) {
	q.mu.Lock()
	q.queuedReports++
	if len(q.reports) < maxReports {
		q.reports = append(q.reports, err)
	} else {
		q.reportsDropped++
	}
	q.reportCond.Signal()
	q.mu.Unlock()
}

// report is the reporter goroutine: it calls the error handler with each
// error the sending goroutine queued, in order, and returns once that
// goroutine has and every error is delivered.
func (q *sender) report() {
	q.reporterID.Store(goid.Get()) // to tell an error handler calling Shutdown from any other caller
	defer close(q.reported)
	for {
		q.mu.Lock()
		for len(q.reports) == 0 && q.reportsDropped == 0 && !q.stopped {
			q.reportCond.Wait()
		}
		errs, dropped := q.reports, q.reportsDropped
		q.reports, q.reportsDropped = nil, 0
		q.mu.Unlock()
		if len(errs) == 0 && dropped == 0 {
			return
		}
		for _, err := range errs {
			q.onError(err)
		}
		if dropped > 0 {
			q.onError(fmt.Errorf("%w: %d more errors not reported: the error handler did not keep up (the spans are counted in SpanStats and Shutdown's error)", ErrExport, dropped))
		}
		q.mu.Lock()
		q.doneReports += uint64(len(errs) + dropped)
		close(q.deliveredCh)
		q.deliveredCh = make(chan struct{})
		q.mu.Unlock()
	}
}

// waitReports waits until the error handler has had every error queued
// before the call, or ctx is done. Called from the handler, it returns at
// once: it would wait for itself.
func (q *sender) waitReports(ctx context.Context) error {
	if goid.Get() == q.reporterID.Load() {
		return nil
	}
	q.mu.Lock()
	target := q.queuedReports
	for q.doneReports < target {
		ch := q.deliveredCh
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		q.mu.Lock()
	}
	q.mu.Unlock()
	return nil
}

// enqueue encodes a span that ended into the current batch, waiting while
// the queue is full. After Shutdown the span is counted failed.
func (q *sender) enqueue(t *otlpTracer, sc *trace.SpanContext, rec *spanRecord) {
	q.mu.Lock()
	for q.queued >= q.maxQueue && !q.closed {
		q.notFull.Wait()
	}
	q.ended.Add(1)
	if q.closed {
		q.mu.Unlock()
		q.onError(q.fail(1, errClosed)) // on the caller's goroutine: the reporter may be gone
		return
	}
	buf := q.cur.spans(t)
	*buf = appendSpan(*buf, fSSSpans, sc, rec)
	q.cur.n++
	q.queued++
	full := q.cur.n >= q.maxBatch
	if full {
		q.sealLocked()
	}
	q.mu.Unlock()
	if full {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// sealLocked moves the current batch, if it holds spans, to the sealed
// ones.
func (q *sender) sealLocked() {
	if q.cur.n == 0 {
		return
	}
	q.sealed = append(q.sealed, q.cur)
	if n := len(q.free); n > 0 {
		q.cur, q.free = q.free[n-1], q.free[:n-1]
	} else {
		q.cur = &batch{}
	}
}

func (q *sender) run() {
	defer func() {
		q.mu.Lock()
		q.stopped = true // the reporter returns once it has delivered the rest
		q.reportCond.Broadcast()
		q.mu.Unlock()
	}()
	defer close(q.done)
	defer q.transport.CloseIdleConnections()
	timer := time.NewTimer(q.interval)
	defer timer.Stop()
	for {
		var reply chan struct{}
		stop, seal := false, true
		select {
		case <-q.wake: // a full batch: the current one keeps filling
			seal = false
		case <-timer.C:
		case reply = <-q.flushCh:
		case <-q.stopCh:
			stop = true
		}
		if seal {
			q.mu.Lock()
			q.sealLocked()
			q.mu.Unlock()
		}
		q.sendSealed()
		if reply != nil {
			close(reply)
		}
		if stop {
			return
		}
		timer.Reset(q.interval)
	}
}

// sendSealed posts the sealed batches, oldest first.
func (q *sender) sendSealed() {
	for {
		q.mu.Lock()
		if len(q.sealed) == 0 {
			q.mu.Unlock()
			return
		}
		b := q.sealed[0]
		q.sealed[0] = nil
		q.sealed = q.sealed[1:]
		q.queued -= b.n
		q.notFull.Broadcast()
		q.mu.Unlock()

		q.export(b)

		for i := range b.scopes { // a burst's buffers are not kept for good
			if cap(b.scopes[i].spans) > maxKeptBuffer {
				b.scopes[i].spans = nil
			}
		}
		q.mu.Lock()
		b.scopes, b.n = b.scopes[:0], 0
		q.free = append(q.free, b)
		q.mu.Unlock()
	}
}

// maxKeptBuffer is the largest buffer the sender keeps for the next batch
// or request: a burst of large spans leaves none of its size behind.
const maxKeptBuffer = 1 << 20

// export posts one batch and counts its spans.
func (q *sender) export(b *batch) {
	payload := q.encodeRequest(b)
	rejected, err := q.post(payload)
	if cap(q.body) > maxKeptBuffer {
		q.body = nil
	}
	if q.zbuf.Cap() > maxKeptBuffer {
		q.zbuf = bytes.Buffer{} // the writer keeps &q.zbuf; the old array is left to the GC
	}
	n := uint64(b.n)
	if err != nil {
		q.reportAsync(q.fail(n, err))
		return
	}
	if rejected.n <= 0 && rejected.msg != "" { // a warning: every span accepted
		q.exported.Add(n)
		q.reportAsync(fmt.Errorf("%w: the backend accepted %d spans with a warning: %q", ErrExportWarning, n, rejected.msg))
		return
	}
	if rejected.n > 0 {
		r := min(uint64(max(rejected.n, 0)), n)
		q.exported.Add(n - r)
		q.reportAsync(q.fail(r, fmt.Errorf("the backend rejected them (partial success): %q", rejected.msg)))
		return
	}
	q.exported.Add(n)
}

// fail counts n spans failed and returns the error for the handler.
func (q *sender) fail(n uint64, err error) error {
	total := q.failed.Add(n)
	q.mu.Lock()
	if n > 0 {
		q.lastErr = err
	}
	q.mu.Unlock()
	return fmt.Errorf("%w: %d spans not exported (%d so far): %w", ErrExport, n, total, err)
}

// encodeRequest writes b as an ExportTraceServiceRequest, gzipped if so
// configured, into the sender's own buffers.
func (q *sender) encodeRequest(b *batch) []byte {
	rs := lenSize(fRSResource, len(q.resource)) + optStringSize(fRSSchemaURL, q.resSchema)
	for i := range b.scopes {
		rs += lenSize(fRSScopeSpans, b.scopes[i].size())
	}
	body := appendLen(q.body[:0], fReqResourceSpans, rs)
	body = appendBytes(body, fRSResource, q.resource)
	for i := range b.scopes {
		s := &b.scopes[i]
		body = appendLen(body, fRSScopeSpans, s.size())
		if s.t.scope != nil {
			body = appendBytes(body, fSSScope, s.t.scope)
		}
		body = append(body, s.spans...)
		body = appendOptString(body, fSSSchemaURL, s.t.schemaURL)
	}
	body = appendOptString(body, fRSSchemaURL, q.resSchema)
	q.body = body
	if !q.gzip {
		return body
	}
	q.zbuf.Reset()
	if q.zw == nil {
		// klauspost/compress: the same gzip at BestSpeed in about 60% of
		// the standard library's time (measured on these requests), the
		// largest part of the sending goroutine's work.
		q.zw, _ = gzip.NewWriterLevel(&q.zbuf, gzip.BestSpeed)
	} else {
		q.zw.Reset(&q.zbuf)
	}
	_, _ = q.zw.Write(body)
	_ = q.zw.Close()
	return q.zbuf.Bytes()
}

func (s *scopeSpans) size() int {
	n := len(s.spans) + optStringSize(fSSSchemaURL, s.t.schemaURL)
	if s.t.scope != nil {
		n += lenSize(fSSScope, len(s.t.scope))
	}
	return n
}

type partial struct {
	n   int64
	msg string
}

// errStatus is a response of the backend that is not a success.
type errStatus struct {
	code int
}

func (e *errStatus) Error() string {
	return fmt.Sprintf("the backend answered %d %s", e.code, http.StatusText(e.code))
}

// post sends payload, retrying what the OTLP specification says is
// retryable (429, 502, 503, 504, and a connection that failed) with
// exponential backoff and jitter, or after the response's Retry-After,
// until the export timeout. It never prints the request's URL beyond its
// scheme, host and path, nor a header.
//
// The transport may still read a request's body after Do returned (a
// backend answering before it read it all): payload is the sender's own
// buffer, so if a body of this post is not closed when it returns, the
// sender's buffers are left to it and the next request gets new ones.
func (q *sender) post(payload []byte) (partial, error) {
	open := new(atomic.Int32) // the bodies the transport has not closed
	defer func() {
		if open.Load() != 0 {
			q.body, q.zbuf = nil, bytes.Buffer{}
		}
	}()
	ctx, cancel := context.WithTimeout(q.stopCtx, q.timeout)
	defer cancel()
	delay := q.retryFirst
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, q.url, nil)
		if err != nil {
			return partial{}, err
		}
		req.Body, req.ContentLength = newReqBody(payload, open), int64(len(payload))
		req.GetBody = func() (io.ReadCloser, error) { return newReqBody(payload, open), nil }
		req.Header = q.header
		resp, err := q.client.Do(req)
		var wait time.Duration
		if err != nil {
			if ctx.Err() != nil {
				return partial{}, q.ctxErr(ctx, attempt, err)
			}
			if !retryable(err) {
				return partial{}, err
			}
		} else {
			q.resp = readBody(q.resp[:0], resp.Body)
			_ = resp.Body.Close()
			switch code := resp.StatusCode; {
			case code >= 200 && code < 300:
				n, msg := parsePartialSuccess(q.resp)
				return partial{n, msg}, nil
			case code == http.StatusTooManyRequests, code == http.StatusBadGateway,
				code == http.StatusServiceUnavailable, code == http.StatusGatewayTimeout:
				err = &errStatus{code}
				wait = retryAfter(resp.Header.Get("Retry-After"))
			default:
				return partial{}, &errStatus{code}
			}
		}
		if wait <= 0 {
			wait = delay/2 + rand.N(delay) // jittered: [0.5, 1.5) × delay
			delay = min(2*delay, 30*time.Second)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return partial{}, fmt.Errorf("%w (after %d attempts; the next one, in %v, would pass the export timeout)", err, attempt, wait.Round(time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return partial{}, q.ctxErr(ctx, attempt, err)
		}
	}
}

// reqBody is a request's body, reading the sender's buffer; its Close
// says the transport is done with it.
type reqBody struct {
	bytes.Reader
	open   *atomic.Int32
	closed atomic.Bool
}

func newReqBody(payload []byte, open *atomic.Int32) *reqBody {
	open.Add(1)
	b := &reqBody{open: open}
	b.Reset(payload)
	return b
}

func (b *reqBody) Close() error {
	if b.closed.CompareAndSwap(false, true) {
		b.open.Add(-1)
	}
	return nil
}

// retryable reports whether a request that got no response may succeed
// if sent again: not when the server's certificate is refused, which a
// retry cannot change.
func retryable(err error) bool {
	var cert *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	return !errors.As(err, &cert) && !errors.As(err, &unknown) && !errors.As(err, &host) && !errors.As(err, &invalid)
}

// ctxErr says why an export stopped: its timeout, or Shutdown's ctx.
func (q *sender) ctxErr(ctx context.Context, attempts int, last error) error {
	if q.stopCtx.Err() != nil {
		return fmt.Errorf("shutdown's ctx ended during the export (after %d attempts): %w", attempts, last)
	}
	return fmt.Errorf("export timeout (%v) passed after %d attempts: %w", q.timeout, attempts, last)
}

// readBody reads at most 64 KiB of a response: enough for an
// ExportTraceServiceResponse, and the rest is discarded.
func readBody(dst []byte, r io.Reader) []byte {
	const limit = 64 << 10
	buf := bytes.NewBuffer(dst)
	_, _ = buf.ReadFrom(io.LimitReader(r, limit))
	_, _ = io.Copy(io.Discard, io.LimitReader(r, limit))
	return buf.Bytes()
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	s, err := strconv.ParseInt(v, 10, 64)
	if errors.Is(err, strconv.ErrRange) && s > 0 {
		err = nil // beyond int64 seconds: s is math.MaxInt64
	}
	if err == nil {
		// Capped before it is multiplied: beyond time.Duration it would
		// wrap around to a short or negative wait, retried at once.
		return time.Duration(min(max(s, 0), math.MaxInt64/int64(time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

// flush seals the current batch and waits until every sealed batch has
// been posted and counted, and its errors handed to the error handler, or
// ctx is done.
func (q *sender) flush(ctx context.Context) error {
	reply := make(chan struct{})
	select {
	case q.flushCh <- reply:
	case <-q.done:
		return q.waitReports(ctx)
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-reply:
		return q.waitReports(ctx)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// shutdown refuses new spans, posts those accepted under ctx (an export
// still running when ctx ends is canceled, its spans counted failed),
// stops the goroutine, which closes the idle connections, and waits until
// the error handler has had every error, or ctx ends. It returns an error
// counting the spans not exported, the same at every call.
//
// The sending goroutine never waits for the error handler (the reporter
// goroutine calls it), so it stops promptly once ctx ends, and every span
// is counted when shutdown returns, even if the handler blocks. Called
// from the error handler, shutdown does not wait for the reporter, its
// caller.
func (q *sender) shutdown(ctx context.Context) error {
	q.mu.Lock()
	first := !q.closed
	q.closed = true
	q.notFull.Broadcast()
	q.mu.Unlock()
	if first {
		stop := context.AfterFunc(ctx, q.cancel)
		close(q.stopCh)
		<-q.done // prompt once ctx is done: every wait of the goroutine watches stopCtx
		stop()
		q.cancel()
	} else {
		select {
		case <-q.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if goid.Get() != q.reporterID.Load() {
		select {
		case <-q.reported:
		case <-ctx.Done():
			if err := q.err(); err != nil {
				return err
			}
			return fmt.Errorf("otelspans: shutdown's ctx ended before the error handler had every error (is it blocking?): %w", ctx.Err())
		}
	}
	return q.err()
}

// err returns an error counting the spans that were not exported, or nil.
func (q *sender) err() error {
	st := q.stats()
	if st.Failed == 0 {
		return nil
	}
	q.mu.Lock()
	last := q.lastErr
	q.mu.Unlock()
	return fmt.Errorf("%w: %d spans not exported, last because: %w", ErrExport, st.Failed, last)
}

// stats returns the counts. Exported and Failed are loaded before Ended,
// so that a span in flight is counted pending, never twice.
func (q *sender) stats() SpanStats {
	st := SpanStats{Exported: q.exported.Load(), Failed: q.failed.Load()}
	st.Ended = q.ended.Load()
	return st
}

// errClosed is why a span that ends after Shutdown is not exported.
var errClosed = errors.New("the span ended after Shutdown")

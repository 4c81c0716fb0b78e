package exportertest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/flowtrace/flowtrace"
)

// Option configures the suite. The zero configuration runs every check
// except the goroutine check, with 16 concurrent runs and a one-minute
// deadline per wait.
type Option func(*config)

type config struct {
	runs       int
	timeout    time.Duration
	leakCheck  bool
	leakIgnore []goleak.Option
}

func newConfig(opts []Option) config {
	c := config{runs: 16, timeout: time.Minute}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// WithConcurrentRuns sets how many runs the interleaving check records at
// once, each on its own goroutine. The default is 16; n below 2 is taken
// as 2.
func WithConcurrentRuns(n int) Option {
	return func(c *config) { c.runs = max(n, 2) }
}

// WithTimeout bounds each wait of the suite: every EndTracers and Shutdown,
// and the exporter's second Shutdown. A wait that runs past it is reported
// as a failure rather than hanging the test. The default is one minute; a
// d of zero or less keeps it.
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithGoroutineCheck makes every check end by verifying that no goroutine
// started from the moment newExporter was called is still running once
// Shutdown has returned: neither the service's nor the exporter's. ignore
// lists goroutines that are not the exporter's, as goleak options
// (goleak.IgnoreTopFunction, say); a fixture the exporter needs, such as a
// test server, is best started before Run, where it is not counted.
//
// It compares the goroutines of the whole process, so tests that run in
// parallel with the suite (t.Parallel) make it fail: use it in a test
// that runs alone.
func WithGoroutineCheck(ignore ...goleak.Option) Option {
	return func(c *config) {
		c.leakCheck = true
		c.leakIgnore = append(c.leakIgnore, ignore...)
	}
}

// Run runs the conformance suite against exporters made by newExporter, one
// subtest per check, and reports every violation with t.Error. newExporter
// is called once per check, with that subtest's t, and must return a new,
// working exporter each time: the suite shuts each one down.
func Run(t *testing.T, newExporter func(t *testing.T) flowtrace.Exporter, opts ...Option) {
	t.Helper()
	cfg := newConfig(opts)
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			var before goleak.Option
			if cfg.leakCheck {
				before = goleak.IgnoreCurrent()
			}
			e := newExporter(t)
			if e == nil {
				t.Fatal("newExporter returned a nil Exporter")
			}
			for _, err := range runCheck(c, e, cfg, before) {
				t.Error(err)
			}
		})
	}
}

// TestExporter runs the conformance suite against exporters made by
// newExporter, which is called once per check and must return a new,
// working exporter each time, and returns every violation found, joined,
// or nil. It is Run for use outside package testing.
func TestExporter(newExporter func() flowtrace.Exporter, opts ...Option) error {
	cfg := newConfig(opts)
	var errs []error
	for _, c := range checks {
		var before goleak.Option
		if cfg.leakCheck {
			before = goleak.IgnoreCurrent()
		}
		e := newExporter()
		if e == nil {
			errs = append(errs, fmt.Errorf("%s: newExporter returned a nil Exporter", c.name))
			continue
		}
		for _, err := range runCheck(c, e, cfg, before) {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

// check is one scenario of the suite.
type check struct {
	name string
	// what the exporter must do, said in every failure of the check.
	explanation string
	run         func(h *harness)
}

// runCheck runs c against e and returns what went wrong. A panic in the
// exporter that escapes the library (from Name, say) is a violation too.
func runCheck(c check, e flowtrace.Exporter, cfg config, before goleak.Option) (errs []error) {
	h := newHarness(e, cfg)
	func() {
		defer func() {
			if p := recover(); p != nil {
				h.errorf("panic: %v", p)
			}
		}()
		defer h.cancel()
		defer h.finish() // after a panic too: the service must not outlive the check
		c.run(h)
	}()
	if before != nil {
		if err := goleak.Find(append([]goleak.Option{before}, cfg.leakIgnore...)...); err != nil {
			h.errorf("goroutines still running after Shutdown returned: %v", err)
		}
	}
	for _, err := range h.errors() {
		errs = append(errs, fmt.Errorf("%w\n\t(%s)", err, c.explanation))
	}
	return errs
}

// harness drives one TraceService with one spied exporter and collects
// violations. Its methods are safe for concurrent use.
type harness struct {
	cfg    config
	ctx    context.Context // bounds every wait by cfg.timeout
	cancel context.CancelFunc
	spy    *spy
	svc    *flowtrace.TraceService

	mu       sync.Mutex
	errs     []error
	more     int     // violations beyond maxErrors
	expected []error // errors the service may report in this check
	shut     bool
}

func newHarness(e flowtrace.Exporter, cfg config) *harness {
	h := &harness{cfg: cfg}
	h.ctx, h.cancel = context.WithTimeout(context.Background(), cfg.timeout)
	h.spy = newSpy(e, h)
	return h
}

// maxErrors bounds the violations reported by one check: a defect usually
// shows on every record, and the first few say what it is.
const maxErrors = 5

func (h *harness) errorf(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.errs) < maxErrors {
		h.errs = append(h.errs, fmt.Errorf(format, args...))
	} else {
		h.more++
	}
}

func (h *harness) errors() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.more > 0 {
		return append(h.errs, fmt.Errorf("and %d more violations", h.more))
	}
	return h.errs
}

// expect makes the service's reports wrapping one of errs part of the check
// instead of violations.
func (h *harness) expect(errs ...error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.expected = append(h.expected, errs...)
}

// onError is the service's error handler. An exporter that follows the
// contract makes the service report nothing beyond what the check expects.
func (h *harness) onError(err error) {
	h.mu.Lock()
	expected := h.expected
	h.mu.Unlock()
	for _, e := range expected {
		if errors.Is(err, e) {
			return
		}
	}
	h.errorf("the service reported: %v", err)
}

// start creates the service, with the spied exporter and opts.
func (h *harness) start(opts ...flowtrace.Option) {
	opts = append([]flowtrace.Option{flowtrace.WithExporter(h.spy), flowtrace.WithErrorHandler(h.onError)}, opts...)
	svc, err := flowtrace.NewTraceService(opts...)
	if err != nil {
		panic(fmt.Sprintf("NewTraceService refused the exporter: %v", err))
	}
	h.svc = svc
}

// startRun starts a run in ctx, which must descend from h.ctx. It reports
// false, and a violation, if the service refuses it.
func (h *harness) startRun(ctx context.Context, info flowtrace.RunInfo) (context.Context, bool) {
	rctx, err := h.svc.StartTracers(ctx, info)
	if err != nil {
		h.errorf("StartTracers(%q): %v", info.RunName, err)
		return ctx, false
	}
	return rctx, true
}

// endRun ends the run of ctx and checks that every record reached the
// exporter (lossy: that none failed and each was accounted for). It
// reports whether EndTracers returned nil: only then has every record of
// the run been delivered, dropped or failed, so that what the spy
// recorded of the run is complete and no delivery goroutine writes it any
// more. Otherwise (h.ctx ended first, or a call was abandoned) the run may
// still be delivering, and the check must not read its calls.
func (h *harness) endRun(ctx context.Context, outputs map[string]any, runErr error, lossy bool) (flowtrace.RunSummary, bool) {
	sum, err := h.svc.EndTracers(ctx, outputs, runErr) // ctx descends from h.ctx
	if err != nil {
		h.errorf("EndTracers of run %s: %v", sum.RunID, err)
		return sum, false
	}
	d, ok := sum.Exporters[h.spy.name]
	switch {
	case !ok:
		h.errorf("run %s: the summary has no entry for the exporter %q: %+v", sum.RunID, h.spy.name, sum.Exporters)
	case d.Failed != 0:
		h.errorf("run %s: %d of %d records failed on the exporter (it returned an error, panicked or ran past the export timeout)", sum.RunID, d.Failed, d.Emitted)
	case d.Emitted != d.Delivered+d.Dropped+d.Failed:
		h.errorf("run %s: records unaccounted for: %+v", sum.RunID, d)
	case !lossy && d.Dropped != 0:
		h.errorf("run %s: %d records dropped where the queue never filled: %+v", sum.RunID, d.Dropped, d)
	}
	return sum, true
}

// finish shuts the service down, then calls the exporter's Shutdown a
// second time, and checks again every record the exporter was given.
func (h *harness) finish() {
	if h.svc == nil {
		return
	}
	if err := h.svc.Shutdown(h.ctx); err != nil {
		h.errorf("Shutdown of the service: %v", err)
	}
	h.mu.Lock()
	h.shut = true
	h.mu.Unlock()
	if got := h.spy.shutdowns.Load(); got != 1 {
		h.errorf("the service called the exporter's Shutdown %d times, want once", got)
	}
	// The exporter's own Shutdown runs on a goroutine of its own, so that
	// one ignoring its ctx fails the check instead of hanging it.
	done := make(chan error, 1)
	go func() { done <- callSafely(func() error { return h.spy.inner.Shutdown(h.ctx) }) }()
	select {
	case err := <-done:
		if err != nil {
			h.errorf("a second Shutdown of the exporter must return nil and do nothing, got: %v", err)
		}
	case <-h.ctx.Done():
		h.errorf("a second Shutdown of the exporter did not return by its ctx's deadline")
	}
	h.spy.recheck()
}

// callSafely runs f and turns a panic into an error.
func callSafely(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return f()
}

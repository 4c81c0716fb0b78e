package flowtrace

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// misuseInterval is how often calls without a run are reported, per kind
// of call, in nanoseconds. A variable so that tests can shorten it.
var misuseInterval atomic.Int64

func init() { misuseInterval.Store(int64(time.Minute)) }

func interval() time.Duration { return time.Duration(misuseInterval.Load()) }

// The calls that need a run in their ctx.
const (
	opTraceComponent = iota
	opAddLog
	opSetOutputs
	opEndTracers
	opEndComponent
	opFindComponent
	opSetInputs
	opHold
	opRecordModelCall
	opStartStream
	numOps
)

var opNames = [numOps]string{"TraceComponent", "AddLog", "SetOutputs", "EndTracers",
	"EndComponent", "ComponentByID or LatestComponent", "SetInputs", "Hold", "RecordModelCall", "StartStream"}

// noRunErrs are the first reports of each kind, made once so that a call
// without a run allocates nothing.
var noRunErrs = func() (errs [numOps]error) {
	for op, name := range opNames {
		errs[op] = fmt.Errorf("%s: %w (later occurrences are counted, and reported together once per interval)", name, ErrNoRun)
	}
	return errs
}()

// misuse counts the calls made without a run and reports them rate-limited:
// a misconfigured engine makes them by the million, and must neither flood
// its logs nor pay more than a counter for each. The first call of a kind
// is reported at once, on the caller's goroutine; those after it, within
// the interval, are counted and reported together when it ends, through
// the pipeline's reporter. The zero value is ready to use.
type misuse struct {
	counts striped
	kinds  [numOps]misuseKind

	mu     sync.Mutex // guards the timers and closed
	closed bool
}

type misuseKind struct {
	armed atomic.Bool // a report was made in the current interval
	base  uint64      // count at the last report; guarded by misuse.mu
	timer *time.Timer // guarded by misuse.mu
}

// cacheLine is the size that keeps counters written by different cores apart.
const cacheLine = 64

// numStripes is the number of stripes of a striped counter.
const numStripes = 16

// striped counts the calls of each kind, spread over stripes on cache
// lines of their own, so that goroutines on different cores counting at
// once (a misconfigured engine calling without a run from every goroutine)
// do not contend for one line: a call without a run stays a few
// nanoseconds on every core. A stripe holds the counts of every kind, so
// that a goroutine making calls of several kinds (a component's four)
// writes one line. The zero value is zero.
type striped struct {
	_       [cacheLine]byte // apart from the fields before it, whatever its alignment
	stripes [numStripes]struct {
		n [numOps]atomic.Uint64
		// A full line of padding: the counts of two stripes never share
		// a line, whatever the alignment of the counter.
		_ [cacheLine]byte
	}
}

// Add adds one to the count of kind op in the caller's stripe, picked from
// the address of its stack: goroutines have stacks of their own, so those
// running at once mostly count on different lines, for the price of a
// shift where a random pick cost more than the add. The shift is that of
// the smallest stack, 2 KiB (the runtime's minimum): two live stacks are
// disjoint and at least that large, so the same frame in two of them lies
// a multiple of their size apart, and lands on different stripes unless
// the stacks are numStripes times that far apart. Goroutines started
// together (a worker pool, RunParallel) get neighbouring stacks, often 2
// or 4 KiB apart: a larger shift put those on one stripe, and the line
// bounced between their cores.
func (c *striped) Add(op int) {
	var here byte
	i := uintptr(unsafe.Pointer(&here)) >> stackShift % numStripes
	c.stripes[i].n[op].Add(1)
}

// stackShift is log2 of the runtime's smallest goroutine stack (2 KiB).
const stackShift = 11

// Load returns the count of kind op, the sum of its stripes.
func (c *striped) Load(op int) uint64 {
	var n uint64
	for i := range c.stripes {
		n += c.stripes[i].n[op].Load()
	}
	return n
}

// noRun counts a call of kind op made without a run. Once per interval it
// reports, on the caller's goroutine; otherwise it costs an atomic add and
// a load.
func (s *TraceService) noRun(op int) {
	m := &s.misuse
	m.counts.Add(op)
	k := &m.kinds[op]
	if k.armed.Load() || !k.armed.CompareAndSwap(false, true) {
		return
	}
	s.startInterval(op)
	s.onError(noRunErrs[op])
}

// startInterval starts the interval after a report of op.
func (s *TraceService) startInterval(op int) {
	m := &s.misuse
	m.mu.Lock()
	defer m.mu.Unlock()
	k := &m.kinds[op]
	k.base = m.counts.Load(op)
	if m.closed {
		return // after Shutdown no goroutine is started: the calls are only counted
	}
	if k.timer == nil {
		k.timer = time.AfterFunc(interval(), func() { s.endInterval(op) })
		return
	}
	k.timer.Reset(interval())
}

// endInterval reports the calls of kind op counted since its last report,
// and starts another interval if there were any.
func (s *TraceService) endInterval(op int) {
	m := &s.misuse
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	k := &m.kinds[op]
	n := m.counts.Load(op) - k.base
	if n == 0 {
		k.armed.Store(false)
		// A call counted between the load and the store found the kind
		// armed and did not report: it is reported at the next interval.
		if m.counts.Load(op) == k.base || !k.armed.CompareAndSwap(false, true) {
			return
		}
		n = m.counts.Load(op) - k.base
	}
	k.base += n
	k.timer.Reset(interval())
	// Reported through the pipeline, which Shutdown waits for: this timer
	// goroutine never runs the handler itself.
	s.pipe.Report(fmt.Errorf("%s: %w: %d more call(s) in the last %v", opNames[op], ErrNoRun, n, interval()))
}

// total returns the number of calls made without a run.
func (m *misuse) total() uint64 {
	var n uint64
	for i := range m.kinds {
		n += m.counts.Load(i)
	}
	return n
}

// stopMisuse stops the misuse timers; the calls made later are counted
// and, the first of each kind, reported on the caller's goroutine.
func (s *TraceService) stopMisuse() {
	m := &s.misuse
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	for i := range m.kinds {
		if t := m.kinds[i].timer; t != nil {
			t.Stop()
		}
	}
}

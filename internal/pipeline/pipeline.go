package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowtrace/flowtrace/internal/goid"
)

// The pipeline's own sentinels, for a Config that gives none (its tests).
var (
	ErrShutdown      = errors.New("flowtrace: trace service is shut down")
	ErrQueueFull     = errors.New("flowtrace: exporter queue full, event dropped")
	ErrExportTimeout = errors.New("flowtrace: exporter call exceeded the export timeout")
	ErrPanic         = errors.New("flowtrace: exporter panicked")
	ErrDuplicate     = errors.New("flowtrace: exporter name already registered")
	ErrNotFound      = errors.New("flowtrace: exporter not registered")
	ErrTooMany       = fmt.Errorf("flowtrace: too many exporters (at most %d)", MaxLanes)
	ErrInDelivery    = errors.New("flowtrace: called from inside an exporter call; delivery completes after the call returns")
)

// Errors are the sentinels the pipeline's errors wrap. Their text is the
// root package's API, so the root package defines them and hands them over
// in Config; a nil field takes the pipeline's own.
type Errors struct {
	Shutdown      error // a run or backend added after Shutdown
	QueueFull     error // an event dropped
	ExportTimeout error // a backend call abandoned
	Panic         error // a panic recovered from a backend
	Duplicate     error // a second backend of the same name
	NotFound      error // removing an unknown backend
	TooMany       error // a backend beyond MaxLanes
	InDelivery    error // a wait that would wait for the caller's own lane
}

func (e *Errors) setDefaults() {
	for _, f := range []struct {
		field *error
		def   error
	}{
		{&e.Shutdown, ErrShutdown}, {&e.QueueFull, ErrQueueFull}, {&e.ExportTimeout, ErrExportTimeout},
		{&e.Panic, ErrPanic}, {&e.Duplicate, ErrDuplicate}, {&e.NotFound, ErrNotFound},
		{&e.TooMany, ErrTooMany}, {&e.InDelivery, ErrInDelivery},
	} {
		if *f.field == nil {
			*f.field = f.def
		}
	}
}

// MaxLanes is the most lanes a pipeline has at once. A Scope tracks drops
// with one bit per lane of a run, and a run has at most the lanes
// registered when it started.
const MaxLanes = 64

// Backend is the consumer at the end of a lane: O is the caller's record of
// a run (what Open is told), E the records the lane carries. Its methods
// are called only by the lane's worker, except Shutdown. Open is told the
// run's lane index (the order of registration when the run started, from
// 0), which is the run's alone on that lane: the backend may keep the
// session in storage of the run's indexed by it, rather than allocate it.
type Backend[O, E any] interface {
	Open(ctx context.Context, run O, lane int) (Session[E], error)
	Shutdown(ctx context.Context) error
}

// Session receives one run's records for one backend, serially: its
// events, then the run's end.
type Session[E any] interface {
	Deliver(ctx context.Context, rec E) error
}

// Event is one record on its way to the backends. An event with a Scope
// belongs to that scope: once the event that opens the scope (Opens) has
// been dropped on a lane, or failed there without reaching the backend, the
// scope's later events are dropped (or failed) on that lane too, so a
// backend never sees a component it was not told about.
type Event[E any] struct {
	Data  E
	Scope *Scope
	Opens bool
}

// Scope tracks on which lanes a scope's opening event was dropped or
// failed without reaching the backend. The zero value is ready to use.
type Scope struct {
	dropped atomic.Uint64 // bit i: dropped on the run's lane i (a run has at most MaxLanes)
	failed  atomic.Uint64 // bit i: failed by the worker of the run's lane i
}

// skip records, for an opening event that the worker did not hand to the
// backend, that the scope's later events must not reach it either. Nil-safe.
func (s *Scope) skip(opens bool, bit uint64) {
	if s != nil && opens {
		s.failed.Or(bit)
	}
}

// skipped reports whether the scope's opening event did not reach the
// backend of the lane bit stands for. Nil-safe.
func (s *Scope) skipped(bit uint64) bool {
	return s != nil && s.failed.Load()&bit != 0
}

// Config configures a Pipeline. Zero fields take defaults.
type Config struct {
	QueueSize     int
	Block         time.Duration // how long a producer waits for room; 0 drops at once
	ExportTimeout time.Duration
	OnError       func(error)
	Errors        Errors
}

// Delivery counts the events of one lane.
type Delivery struct {
	Emitted, Delivered, Dropped, Failed uint64
}

func (d *Delivery) add(o Delivery) {
	d.Emitted += o.Emitted
	d.Delivered += o.Delivered
	d.Dropped += o.Dropped
	d.Failed += o.Failed
}

// LaneDelivery is the delivery of one named lane.
type LaneDelivery struct {
	Name string
	Delivery
}

// Stats is a point-in-time view of a Pipeline.
type Stats struct {
	RunsStarted, RunsActive, Late uint64
	Lanes                         map[string]Delivery
}

type laneSet[O, E any] struct {
	lanes []*lane[O, E]
}

// Pipeline owns the lanes and their workers. It keeps the set of active runs
// only so that Shutdown can end them; it never uses it to route an event.
type Pipeline[O, E any] struct {
	cfg   Config
	errs  *Errors                       // &cfg.Errors, defaults set
	lanes atomic.Pointer[laneSet[O, E]] // copy-on-write; readers never lock

	mu       sync.Mutex // guards writers of lanes, active, retired, closed
	active   runList[O, E]
	retiring map[*lane[O, E]]struct{}
	retired  map[string]Delivery
	closed   bool

	all []*lane[O, E] // lanes running or with an abandoned call running; guarded by mu

	// abandoned counts backend calls abandoned by a watchdog that have not
	// returned yet.
	abandoned counter

	started atomic.Uint64
	late    atomic.Uint64

	rep *reporter // runs the error handler for failures found in the background
}

// New returns a running pipeline with no lanes.
func New[O, E any](cfg Config) *Pipeline[O, E] {
	if cfg.OnError == nil {
		cfg.OnError = func(error) {}
	}
	p := &Pipeline[O, E]{
		cfg:      cfg,
		retiring: make(map[*lane[O, E]]struct{}),
		retired:  make(map[string]Delivery),
	}
	p.errs = &p.cfg.Errors
	p.errs.setDefaults()
	p.rep = newReporter(cfg.OnError, p.errs.InDelivery)
	p.lanes.Store(&laneSet[O, E]{})
	return p
}

// report passes a failure found by a worker or a watchdog to the error
// handler, on the reporter's goroutine.
func (p *Pipeline[O, E]) report(err error) uint64 { return p.rep.report(err) }

// Report passes err to the error handler on the reporter's goroutine, for
// a caller that must not run the handler itself (a timer). Shutdown waits
// until it has been handled.
func (p *Pipeline[O, E]) Report(err error) { p.rep.report(err) }

// Add registers a backend under name and starts its worker. Runs started
// from now on deliver to it. key identifies the backend across
// registrations: of lanes sharing a key, only the last to stop shuts the
// backend down.
func (p *Pipeline[O, E]) Add(name string, key any, b Backend[O, E]) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return p.errs.Shutdown
	}
	cur := p.lanes.Load()
	for _, l := range cur.lanes {
		if l.name == name {
			return fmt.Errorf("%w: %q", p.errs.Duplicate, name)
		}
	}
	if len(cur.lanes) >= MaxLanes {
		return fmt.Errorf("%w: cannot add %q", p.errs.TooMany, name)
	}
	l := newLane(p, b, name, key)
	p.all = append(p.all, l)
	next := &laneSet[O, E]{lanes: make([]*lane[O, E], 0, len(cur.lanes)+1)}
	next.lanes = append(append(next.lanes, cur.lanes...), l)
	p.lanes.Store(next)
	return nil
}

// Remove unregisters a backend. Runs that started with it keep delivering to
// it; once the last of them has ended, its worker stops and the backend is
// shut down.
func (p *Pipeline[O, E]) Remove(name string) error {
	p.mu.Lock()
	cur := p.lanes.Load()
	var gone *lane[O, E]
	next := &laneSet[O, E]{lanes: make([]*lane[O, E], 0, len(cur.lanes))}
	for _, l := range cur.lanes {
		if l.name == name && gone == nil {
			gone = l
			continue
		}
		next.lanes = append(next.lanes, l)
	}
	if gone == nil {
		p.mu.Unlock()
		return fmt.Errorf("%w: %q", p.errs.NotFound, name)
	}
	p.lanes.Store(next)
	p.retiring[gone] = struct{}{}
	p.mu.Unlock()
	gone.retire(nil)
	return nil
}

// Names returns the names of the registered backends.
func (p *Pipeline[O, E]) Names() []string {
	cur := p.lanes.Load()
	names := make([]string, len(cur.lanes))
	for i, l := range cur.lanes {
		names[i] = l.name
	}
	return names
}

// StartRun opens a run on every lane registered now; owner becomes
// Run.Owner, what each Backend.Open is told.
func (p *Pipeline[O, E]) StartRun(id string, owner O) (*Run[O, E], error) {
	r := new(Run[O, E])
	if err := p.StartRunIn(r, id, owner); err != nil {
		return nil, err
	}
	return r, nil
}

// StartRunIn is StartRun into r, the zero Run, for a caller that keeps the
// run inside its own record of it (one allocation per run rather than
// two). r must not be copied or reused afterwards.
func (p *Pipeline[O, E]) StartRunIn(r *Run[O, E], id string, owner O) error {
	set := p.lanes.Load()
	r.ID, r.Owner, r.p = id, owner, p
	if len(set.lanes) <= len(r.inline) {
		r.lanes = r.inline[:0]
	} else {
		r.lanes = make([]runLane[O, E], 0, len(set.lanes))
	}
	for _, l := range set.lanes {
		if !l.acquire() { // removed meanwhile
			continue
		}
		r.lanes = append(r.lanes, runLane[O, E]{run: r, lane: l, idx: uint8(len(r.lanes))})
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		for i := range r.lanes {
			r.lanes[i].lane.release()
		}
		return p.errs.Shutdown
	}
	// The run is complete (its count of lanes set, its opening queued on
	// each) before Shutdown can see it in active and end it: an end queued
	// before the opening would finish the run twice.
	r.remaining.Store(int32(len(r.lanes)))
	for i := range r.lanes {
		rl := &r.lanes[i]
		rl.emittedOutside()
		rl.lane.control(ctrlItem[O, E]{rl: rl})
	}
	// A run with no lane is active too, until it is closed: Shutdown must
	// end it like any other.
	p.active.add(r)
	p.mu.Unlock()
	p.started.Add(1)
	if len(r.lanes) == 0 {
		r.done.fire()
	}
	return nil
}

func (p *Pipeline[O, E]) runFinished(r *Run[O, E]) {
	p.mu.Lock()
	p.active.remove(r)
	p.mu.Unlock()
}

// ActiveRuns returns the runs whose delivery has not finished.
func (p *Pipeline[O, E]) ActiveRuns() []*Run[O, E] {
	p.mu.Lock()
	defer p.mu.Unlock()
	runs := make([]*Run[O, E], 0, p.active.n)
	for r := p.active.head; r != nil; r = r.next {
		runs = append(runs, r)
	}
	return runs
}

// Stats returns the pipeline's counters. It costs O(lanes), whatever the
// number of runs in flight, and writers never wait for it.
func (p *Pipeline[O, E]) Stats() Stats {
	s := Stats{Late: p.late.Load(), RunsStarted: p.started.Load(), Lanes: make(map[string]Delivery)}
	p.mu.Lock()
	defer p.mu.Unlock()
	// Loaded under mu, like retired: a lane that exits in between would
	// otherwise be counted from both.
	s.RunsActive = uint64(p.active.n)
	for name, d := range p.retired {
		s.Lanes[name] = d
	}
	add := func(l *lane[O, E]) {
		d := s.Lanes[l.name]
		d.add(l.totals())
		s.Lanes[l.name] = d
	}
	for _, l := range p.lanes.Load().lanes {
		if _, retiring := p.retiring[l]; !retiring {
			add(l)
		}
	}
	for l := range p.retiring {
		add(l)
	}
	return s
}

// Close refuses new runs and backends from now on.
func (p *Pipeline[O, E]) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
}

// Shutdown refuses new runs, stops every worker and shuts the backends down.
// The caller ends the active runs first (see ActiveRuns). A worker stops
// once the last run using it has finished, never before, so that a run
// still being ended always reaches every lane. Shutdown returns by ctx's
// deadline, naming the backends that have not finished; if it runs out of
// time, what is still queued is dropped (and counted) and writers waiting
// for room give up, so that the workers finish soon after. It is
// idempotent: a later call waits again.
func (p *Pipeline[O, E]) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	set := p.lanes.Load()
	p.lanes.Store(&laneSet[O, E]{})
	for _, l := range set.lanes {
		p.retiring[l] = struct{}{}
	}
	lanes := p.laneList()
	p.mu.Unlock()
	for _, l := range lanes {
		l.retire(ctx)
	}
	var errs []error
	self := goid.Get()
	for _, l := range lanes {
		if l.worker.Load() == self {
			// Called from this lane's own backend call: the lane stops
			// once the call returns, and cannot be waited for here.
			errs = append(errs, fmt.Errorf("%w: exporter %q stops after its current call returns", p.errs.InDelivery, l.name))
			continue
		}
		select {
		case <-l.exited:
			errs = append(errs, l.shutdownErr)
		case <-ctx.Done():
			// Out of time: what is left is dropped rather than delivered,
			// and writers still waiting for room give up, so the runs
			// still open finish and their lanes stop on their own.
			for _, l := range lanes {
				l.cancelCalls()
			}
			p.mu.Lock()
			for r := p.active.head; r != nil; r = r.next {
				r.Abort()
			}
			p.mu.Unlock()
			return p.pendingError(ctx.Err())
		}
	}
	// A call abandoned by the watchdog may still be running in the
	// backend: the service is not done until it has returned.
	select {
	case <-p.abandoned.idle():
	case <-ctx.Done():
		return errors.Join(append(errs, p.pendingError(ctx.Err()))...)
	}
	// The workers have reported all they will: the service is done once
	// the error handler has been told.
	if err := p.rep.wait(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (p *Pipeline[O, E]) laneList() []*lane[O, E] {
	ls := make([]*lane[O, E], 0, len(p.retiring))
	for l := range p.retiring {
		ls = append(ls, l)
	}
	return ls
}

// lastOfBackend reports whether l is the last lane of its backend to stop;
// the lanes that report false leave the backend to it.
func (p *Pipeline[O, E]) lastOfBackend(l *lane[O, E]) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	l.leaving = true
	same := func(x *lane[O, E]) (eq bool) {
		defer func() { _ = recover() }() // a comparable type holding an incomparable value
		return x != l && !x.leaving && x.key == l.key
	}
	for _, x := range p.lanes.Load().lanes {
		if same(x) {
			return false
		}
	}
	for x := range p.retiring {
		if same(x) {
			return false
		}
	}
	return true
}

// laneExited moves a stopped lane's totals to the retired counters.
func (p *Pipeline[O, E]) laneExited(l *lane[O, E]) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.retiring, l)
	if l.stuck.Load() == 0 {
		// Nothing left to name it for; a lane with an abandoned call
		// still running stays listed so that Shutdown can name it.
		for i, x := range p.all {
			if x == l {
				p.all = append(p.all[:i], p.all[i+1:]...)
				break
			}
		}
	}
	d := p.retired[l.name]
	d.add(l.totals())
	p.retired[l.name] = d
}

// pendingError names the lanes that have not finished shutting down, and
// those whose worker has exited while a call it abandoned still runs in
// the backend.
func (p *Pipeline[O, E]) pendingError(cause error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, l := range p.all {
		_, retiring := p.retiring[l]
		stuck := l.stuck.Load()
		switch {
		case retiring && stuck > 0:
			errs = append(errs, fmt.Errorf("%w: exporter %q did not shut down in time (%s): %w", p.errs.ExportTimeout, l.name, l.state(), cause))
		case retiring:
			errs = append(errs, fmt.Errorf("flowtrace: exporter %q did not shut down in time (%s): %w", l.name, l.state(), cause))
		case stuck > 0:
			errs = append(errs, fmt.Errorf("%w: exporter %q: %d abandoned call(s) still running at shutdown: %w", p.errs.ExportTimeout, l.name, stuck, cause))
		}
	}
	if len(errs) == 0 {
		return fmt.Errorf("flowtrace: shutdown: %w", cause)
	}
	return errors.Join(errs...)
}

// runList is the set of active runs, linked through the runs themselves:
// a map would cost each open run an entry of its own besides. Guarded by
// the pipeline's mu.
type runList[O, E any] struct {
	head *Run[O, E]
	n    int
}

func (l *runList[O, E]) add(r *Run[O, E]) {
	r.prev, r.next = nil, l.head
	if l.head != nil {
		l.head.prev = r
	}
	l.head = r
	l.n++
}

// remove takes r out of the list; a run not in it is left alone.
func (l *runList[O, E]) remove(r *Run[O, E]) {
	if r.prev == nil && l.head != r {
		return
	}
	if r.prev != nil {
		r.prev.next = r.next
	} else {
		l.head = r.next
	}
	if r.next != nil {
		r.next.prev = r.prev
	}
	r.prev, r.next = nil, nil
	l.n--
}

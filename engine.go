package flowtrace

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// This file holds what workflow engines need beyond the scope a call
// returns: finding a component again from what a callback has, inputs that
// arrive after a start, explicit times, and work that outlives its call.

// ErrHoldsOpen reports a run that ended (its EndTracers ctx done, or
// Shutdown) while holds taken with Hold were still open.
var ErrHoldsOpen = errors.New("flowtrace: run ended with holds still open")

// ErrEndBeforeStart reports an EndAt time before the component's start;
// the component is ended at its start time instead.
var ErrEndBeforeStart = errors.New("flowtrace: end time before start time")

// EndComponent ends the component that TraceComponent started and whose ctx
// is ctx (or a ctx derived from it), with err. It is the way to end a
// component for an engine whose end callback gets back the ctx its start
// callback returned. If that start was refused (no run in ctx, a disabled
// service, an unsampled run, a parent that had ended), EndComponent ends
// nothing — never the parent; a ctx with no run is reported as ErrNoRun.
func (s *TraceService) EndComponent(ctx context.Context, err error) {
	if s.off() {
		return
	}
	sc := s.scope(ctx, opEndComponent)
	if sc == nil || sc.isRun {
		return // no run, unsampled, or no component was started in ctx
	}
	sc.End(err)
}

// ComponentByID returns the open component of ctx's run whose ID is id,
// with a ctx scoped to it: what an engine that knows its own call IDs (and
// passed them as ComponentInfo.ID) uses to write through, and end, the
// component a start callback began. It returns ctx and nil when ctx has no
// run or the run has no open component with that ID (never started, or
// ended already: an End waiting for a hold has ended it, for this too);
// End on nil is a no-op.
func (s *TraceService) ComponentByID(ctx context.Context, id string) (context.Context, *Component) {
	return s.find(ctx, func(_ *Component, open *openList) *Component {
		if c := open.lookup(id); c != nil && c.own.pending == nil {
			return c
		}
		return nil
	})
}

// LatestComponent returns the most recently started component that is
// still open, has type typ (any type when typ is ""), and is the component
// of ctx or one of its descendants (any component of the run when ctx is
// the run's own); with a ctx scoped to it. It returns ctx and nil when
// there is none.
//
// It is the pairing for engines whose callbacks get neither a ctx of their
// own nor a call ID (langchaingo's): start with TraceComponent under
// LatestComponent(ctx, "") — the innermost open component — and end with
// LatestComponent(ctx, typ). Its limit: calls of the same type running in
// parallel under one scope cannot be told apart without IDs, so their ends
// may pair with each other's starts; give each parallel branch a component
// of its own, and pass its ctx, to keep them apart. Either way runs stay
// separate, every component is ended, and nothing waits.
func (s *TraceService) LatestComponent(ctx context.Context, typ string) (context.Context, *Component) {
	return s.find(ctx, func(sc *Component, open *openList) *Component {
		for c := open.last; c != nil; c = c.own.prev {
			if c.own.pending == nil && (typ == "" || c.info().Type == typ) && (sc.isRun || sc.encloses(c)) {
				return c
			}
		}
		return nil
	})
}

// find returns, with a ctx scoped to it, the open component of ctx's run
// that pick chooses, under the run's lock, from the run's open components
// (sc is ctx's scope). pick must skip a component whose End waits on a
// hold: it has ended, for its caller.
func (s *TraceService) find(ctx context.Context, pick func(sc *Component, open *openList) *Component) (context.Context, *Component) {
	if s.off() {
		return ctx, nil
	}
	sc := s.scope(ctx, opFindComponent)
	if sc == nil {
		return ctx, nil
	}
	rs := sc.run
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if c := pick(sc, &rs.open); c != nil {
		return &c.ctx, c
	}
	return ctx, nil
}

// encloses reports whether d is c or one of its descendants.
func (c *Component) encloses(d *Component) bool {
	for ; d != nil; d = d.parent {
		if d == c {
			return true
		}
	}
	return false
}

// EndAt ends the component with err at the time at, for an engine that
// learns of a step after it happened. A zero at means now; a time before
// the component's start is reported as ErrEndBeforeStart and replaced by
// the start. Otherwise it is End.
func (c *Component) EndAt(err error, at time.Time) {
	if c == nil || c.isRun || c.run == nil {
		return
	}
	if at.IsZero() {
		at = c.run.now()
	}
	if at.Before(c.info().Time) {
		c.run.svc.onError(fmt.Errorf("EndAt of component %s (%s): %w", c.info().ComponentID, c.info().Name, ErrEndBeforeStart))
		at = c.info().Time
	}
	c.endBy(err, at)
}

// Inputs carries inputs set with SetInputs after their scope started
// (streamed input, say). ComponentID is empty for run-level inputs.
// Successive Inputs of one scope merge with the start's, later keys
// winning.
type Inputs struct {
	RunID       string
	ComponentID string
	Values      Fields
	Time        time.Time
}

// InputsExporter is a RunExporter that also receives inputs set after a
// start. A RunExporter without it receives them as a LogEntry named
// "inputs", of type "inputs", with the values as its message: an older
// exporter loses nothing. The library checks for it once per run.
type InputsExporter interface {
	SetInputs(ctx context.Context, in Inputs) error
}

// SetInputs records inputs in the scope ctx carries, for inputs known only
// after the component started (a streamed request, arguments an agent
// fills in). They merge with the start's inputs, later keys winning, and
// are snapshotted before SetInputs returns.
func (s *TraceService) SetInputs(ctx context.Context, inputs map[string]any) {
	s.setFields(ctx, opSetInputs, inputs, true)
}

// Hold keeps the run of ctx — and, when ctx is a component's, that
// component — from finishing until the returned release is called. A
// component's End while it is held does not wait: the component ends with
// End's error and time when the last hold on it is released (so a
// goroutine still recording a streamed input into it is not late), or
// when its run ends, if that comes first. For the
// run, EndTracers (and Shutdown) first wait for every hold of the run to
// be released — an explicit completion signal for work that outlives the
// call that started it, such as a goroutine draining a streamed response
// and ending its component — or for their ctx's deadline; then they end
// the run and report the holds still open, wrapping ErrHoldsOpen, by the
// scope each was taken in. Writes after that are late, and counted.
// Shutdown waits for the holds of all its runs together, so that a hold
// never released costs only its own run.
//
// release may be called more than once, and from any goroutine; only the
// first call counts. Hold in a ctx without a run, in an unsampled run, or in
// a run already ending returns a release that does nothing.
func (s *TraceService) Hold(ctx context.Context) (release func()) {
	if s.off() {
		return noRelease
	}
	sc := s.scope(ctx, opHold)
	if sc == nil {
		return noRelease
	}
	return sc.run.hold(sc)
}

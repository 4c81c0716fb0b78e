package pipeline

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRunEndedDuringAStallIsNotOpenedAfterIt: a run that starts and ends
// while the lane is stalled is never half-opened at the backend once the
// stall is over: the backend sees either nothing of it, or its start and
// its end.
func TestRunEndedDuringAStallIsNotOpenedAfterIt(t *testing.T) {
	p, l, b := newStallPipeline(t)
	release := make(hang)
	stuck := startRun(t, p, stallRun{name: "stuck"}, release)
	b.wait(t, "stuck: hangs")
	abandonNow(l)
	during := startRun(t, p, stallRun{name: "during"}, "x")
	waitOpeningTaken(t, during)
	d, err := end(t, during)
	require.Error(t, err)
	require.Equal(t, d.Emitted, d.Delivered+d.Failed+d.Dropped, "%+v", d)

	close(release)
	startRun(t, p, stallRun{name: "probe"})
	b.wait(t, "open probe")
	calls := b.of("during")
	if len(calls) > 0 {
		require.Equal(t, "end during", calls[len(calls)-1], "a run opened at the backend is closed there: %q", calls)
	}
	for _, r := range p.ActiveRuns() {
		_, _ = end(t, r)
	}
	_ = stuck
	shutdown(t, p)
}

// TestManyRunsAroundAStall starts runs before, during and after a stall,
// and ends some of them during it, many times: every run the backend opens
// it also closes, last.
func TestManyRunsAroundAStall(t *testing.T) {
	p, l, b := newStallPipeline(t)
	for i := range 50 {
		release := make(hang)
		before := startRun(t, p, stallRun{name: fmt.Sprint("before", i)})
		stuck := startRun(t, p, stallRun{name: fmt.Sprint("stuck", i)}, release)
		b.wait(t, stuck.ID+": hangs")
		abandonNow(l)
		during := startRun(t, p, stallRun{name: fmt.Sprint("during", i)}, "x")
		endedDuring := startRun(t, p, stallRun{name: fmt.Sprint("ended", i)}, "x")
		_, _ = end(t, endedDuring)
		close(release)
		after := startRun(t, p, stallRun{name: fmt.Sprint("after", i)}, "y")
		b.wait(t, "open "+after.ID) // the stall is over
		for _, r := range []*Run[any, any]{before, during, after, stuck} {
			emit(t, r, "later")
			_, _ = end(t, r)
		}
		for _, r := range []*Run[any, any]{before, during, after, stuck, endedDuring} {
			calls := b.of(r.ID)
			opened := false
			for _, c := range calls {
				if c == "open "+r.ID {
					opened = true
				}
			}
			if opened {
				require.Equal(t, "end "+r.ID, calls[len(calls)-1], "round %d: run %s opened is closed last: %q", i, r.ID, calls)
			}
		}
		for _, r := range []*Run[any, any]{before, during, after, stuck} {
			require.Contains(t, b.of(r.ID), r.ID+": later", "round %d", i)
		}
	}
	shutdown(t, p)
}

// TestRunStartedAsAnAbandonedOpenReturnsIsDelivered is
// TestRunStartedAsTheStallEndsIsDelivered with the stall in a run's Open:
// the run whose Open was abandoned and a run started at the moment it
// returns both reach the backend, start, later events and end.
func TestRunStartedAsAnAbandonedOpenReturnsIsDelivered(t *testing.T) {
	p, l, b := newStallPipeline(t)
	for i := range 100 {
		release := make(chan struct{})
		stuck := startRun(t, p, stallRun{name: fmt.Sprint("stuck", i), hang: release})
		b.wait(t, stuck.ID+": hangs")
		abandonNow(l)

		close(release)
		r := startRun(t, p, stallRun{name: fmt.Sprint("r", i)})
		b.wait(t, "open "+r.ID)
		emit(t, r, "later")
		d, err := end(t, r)
		require.NoError(t, err, "round %d", i)
		require.Equal(t, Delivery{Emitted: 3, Delivered: 3}, d, "round %d", i)
		require.Equal(t, []string{"open " + r.ID, r.ID + ": later", "end " + r.ID}, b.of(r.ID), "round %d", i)
		emit(t, stuck, "later")
		_, err = end(t, stuck)
		require.ErrorIs(t, err, ErrExportTimeout)
		calls := b.of(stuck.ID)
		require.Equal(t, "end "+stuck.ID, calls[len(calls)-1], "round %d: the abandoned run is closed last: %q", i, calls)
		require.Contains(t, calls, stuck.ID+": later", "round %d", i)
	}
	shutdown(t, p)
}

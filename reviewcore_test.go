package flowtrace_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

// TestReviewCoreConcurrentWritesAndEndsOnOneComponent: many goroutines
// log, set outputs and End one component at once (the end, the first log
// and the first outputs race for the component's shared tail). Exactly one
// End wins, every other End is reported as a second End, and every log and
// outputs write is either delivered to its own component or counted late.
func TestReviewCoreConcurrentWritesAndEndsOnOneComponent(t *testing.T) {
	const comps, writers, ends = 40, 6, 3
	svc, rec, errs := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	for i := range comps {
		cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: fmt.Sprint("c", i)})
		start := make(chan struct{})
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				<-start
				svc.AddLog(cctx, flowtrace.Log{Name: fmt.Sprint("w", w), Message: i})
				svc.SetOutputs(cctx, map[string]any{fmt.Sprint("w", w): i})
			})
		}
		for range ends {
			wg.Go(func() {
				<-start
				c.End(nil)
			})
		}
		close(start)
		wg.Wait()
	}
	sum, err := svc.EndTracers(ctx, nil, nil)
	require.NoError(t, err)
	requireBalanced(t, sum)
	run, _ := rec.Run(runID(t, ctx))
	require.Len(t, run.Components, comps)
	delivered := 0
	for i, c := range run.Components {
		assert.True(t, c.Ended, "component %d ended", i)
		assert.NoError(t, c.Err, "component %d ended by its caller", i)
		for _, l := range c.Logs {
			assert.Equal(t, int64(i), l.Message, "component %d's log is its own", i)
			delivered++
		}
		for k, v := range c.Outputs {
			assert.Equal(t, int64(i), v, "component %d's output %s is its own", i, k)
			delivered++
		}
	}
	secondEnds := 0
	for _, e := range errs.all() {
		if errors.Is(e, flowtrace.ErrComponentEnded) && strings.HasPrefix(e.Error(), "End of component") {
			secondEnds++
		}
	}
	assert.Equal(t, comps*(ends-1), secondEnds, "every End but the first is a second End")
	assert.Equal(t, uint64(2*comps*writers), uint64(delivered)+svc.Stats().Late, "every write delivered or counted late")
}

// TestReviewCoreShutdownRacesEndTracers: runs start, write and end while
// Stats and Shutdown run concurrently; every run is delivered ended, once,
// and the service ends with no active run.
func TestReviewCoreShutdownRacesEndTracers(t *testing.T) {
	svc, rec, _ := newService(t)
	const runs = 64
	var wg sync.WaitGroup
	started := make(chan struct{}, runs)
	for i := range runs {
		wg.Go(func() {
			ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: fmt.Sprint("r", i)})
			started <- struct{}{}
			if err != nil {
				return // after Shutdown
			}
			cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c"})
			svc.AddLog(cctx, flowtrace.Log{Name: "l", Message: i})
			c.End(nil)
			_, _ = svc.EndTracers(ctx, nil, nil)
			_, _ = svc.EndTracers(ctx, nil, nil) // a second end of the same run
		})
	}
	wg.Go(func() {
		for range runs / 2 {
			<-started
			_ = svc.Stats()
		}
		assert.NoError(t, svc.Shutdown(deadline(t)))
	})
	wg.Wait()
	st := svc.Stats()
	assert.Zero(t, st.RunsActive, "no run left active")
	all := rec.Runs()
	assert.Equal(t, st.RunsStarted, uint64(len(all)), "every started run recorded once")
	for _, r := range all {
		assert.True(t, r.Ended, "run %s ended", r.Info.RunName)
	}
}

// TestReviewCoreMaskedKeyCacheIsPerService: one key masked by one service's
// WithRedactKeys, allowed by another's WithAllowKeys, and left alone by a
// third, recorded alternately and concurrently in one process: each
// service decides by its own rules, whichever recorded the key first, and
// a secret learnt by a run is scrubbed from a key cached before it.
func TestReviewCoreMaskedKeyCacheIsPerService(t *testing.T) {
	redacting, recR, _ := newService(t, flowtrace.WithRedactKeys("model_name"))
	allowing, recA, _ := newService(t, flowtrace.WithAllowKeys("api_key"))
	plain, recP, _ := newService(t)
	var wg sync.WaitGroup
	for i := range 20 {
		for _, svc := range []*flowtrace.TraceService{plain, redacting, allowing} {
			wg.Go(func() {
				ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{
					Metadata: map[string]any{"model_name": "m", "api_key": "k", "i": i},
				})
				if assert.NoError(t, err) {
					_, err = svc.EndTracers(ctx, nil, nil)
					assert.NoError(t, err)
				}
			})
		}
	}
	wg.Wait()
	check := func(name string, rec interface{ Runs() []memory.Run }, model, key any) {
		runs := rec.Runs()
		require.Len(t, runs, 20, name)
		for _, r := range runs {
			md := r.Info.Metadata.Map()
			assert.Equal(t, model, md["model_name"], "%s: model_name", name)
			assert.Equal(t, key, md["api_key"], "%s: api_key", name)
		}
	}
	check("plain", recP, "m", flowtrace.Masked)
	check("redacting", recR, flowtrace.Masked, flowtrace.Masked)
	check("allowing", recA, "m", "k")
}

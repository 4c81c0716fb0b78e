package flowtrace_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flowtrace/flowtrace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFullQueueNeverDeadlocks emits 100 times the queue size into a 1 ms
// per call exporter, from one goroutine and from 64: the test finishes and
// every event is accounted for.
func TestFullQueueNeverDeadlocks(t *testing.T) {
	const queue = 10
	for _, producers := range []int{1, 64} {
		t.Run(fmt.Sprint(producers, " producers"), func(t *testing.T) {
			slow := newFuncExporter("slow", slowHook(time.Millisecond))
			svc, _, errs := newService(t, flowtrace.WithQueueSize(queue), flowtrace.WithExporter(slow))
			ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
			require.NoError(t, err)
			var wg sync.WaitGroup
			per := (100*queue + producers - 1) / producers // at least 100x the queue in all
			for p := range producers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range per {
						svc.AddLog(ctx, flowtrace.Log{Name: "x", Message: p*per + i})
					}
				}()
			}
			wg.Wait()
			sum, err := svc.EndTracers(within(t, ctx), nil, nil)
			require.NoError(t, err)
			requireBalanced(t, sum)
			d := sum.Exporters["slow"]
			assert.Equal(t, uint64(per*producers+2), d.Emitted)
			assert.NotZero(t, d.Dropped, "a 1 ms exporter cannot keep up with 1,000 events into a queue of 10")
			assert.Equal(t, 1, errs.count(flowtrace.ErrQueueFull), "the first drop of a run is reported, once")
			run, _ := slow.rec.Run(sum.RunID)
			assert.Equal(t, int(d.Delivered)-2, len(run.Logs), "what was delivered is what the exporter has")
			assert.True(t, run.Ended, "the run's end is never dropped")
		})
	}
}

func TestBlockForLosesNothingWithAFastExporter(t *testing.T) {
	svc, rec, _ := newService(t, flowtrace.WithQueueSize(8), flowtrace.WithOverflow(flowtrace.BlockFor(time.Second)))
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for p := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				svc.AddLog(ctx, flowtrace.Log{Name: "x", Message: p*1000 + i})
			}
		}()
	}
	wg.Wait()
	sum, err := svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	assert.Equal(t, flowtrace.Delivery{Emitted: 3202, Delivered: 3202}, sum.Exporters["memory"])
	run, _ := rec.Run(sum.RunID)
	assert.Len(t, run.Logs, 3200)
}

// TestBlockForGivesUp fills a queue of one in front of a blocked exporter:
// with BlockFor the callers wait, then drop and go on. The other
// exporter's queue is its own: it gets every log. It is kept in step with
// the writes (each AddLog waits until it has the previous one), so that
// its queue, as small, is never full however late its worker runs: with
// the memory exporter behind a queue of one, a worker not scheduled within
// BlockFor on a loaded machine dropped a log there too.
func TestBlockForGivesUp(t *testing.T) {
	release := make(chan struct{})
	blocked := newFuncExporter("blocked", func(_ context.Context, m string) error {
		if m == "AddLog" {
			<-release
		}
		return nil
	})
	got := make(chan struct{})
	inStep := newFuncExporter("in-step", func(_ context.Context, m string) error {
		if m == "AddLog" {
			got <- struct{}{}
		}
		return nil
	})
	errs := &errorLog{}
	// The export timeout is an hour: the blocked call is never abandoned,
	// however long a loaded machine takes over the writes.
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(inStep), flowtrace.WithExporter(blocked),
		flowtrace.WithQueueSize(1), flowtrace.WithOverflow(flowtrace.BlockFor(5*time.Millisecond)),
		flowtrace.WithExportTimeout(time.Hour), flowtrace.WithErrorHandler(errs.handle))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, svc.Shutdown(deadline(t))) })
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	for i := range 5 {
		svc.AddLog(ctx, flowtrace.Log{Name: "l", Message: i}) // returns: a hang fails the test by its timeout
		select {
		case <-got:
		case <-deadline(t).Done():
			t.Fatalf("the in-step exporter never got log %d", i)
		}
	}
	close(release)
	sum, err := svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	requireBalanced(t, sum)
	d := sum.Exporters["blocked"]
	assert.Equal(t, uint64(7), d.Emitted)
	assert.NotZero(t, d.Dropped, "with the exporter blocked, a queue of one cannot take five logs")
	assert.Equal(t, 1, errs.count(flowtrace.ErrQueueFull), "the first drop of the run is reported, once")
	assert.Equal(t, flowtrace.Delivery{Emitted: 7, Delivered: 7}, sum.Exporters["in-step"], "the other exporter's queue is its own")
}

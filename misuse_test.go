package flowtrace_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
)

// noRunCalls are the calls that need a run in their ctx, made without one.
var noRunCalls = []struct {
	op   string
	call func(svc *flowtrace.TraceService, ctx context.Context)
}{
	{"TraceComponent", func(svc *flowtrace.TraceService, ctx context.Context) {
		svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "c"})
	}},
	{"AddLog", func(svc *flowtrace.TraceService, ctx context.Context) { svc.AddLog(ctx, flowtrace.Log{Name: "l"}) }},
	{"SetOutputs", func(svc *flowtrace.TraceService, ctx context.Context) { svc.SetOutputs(ctx, nil) }},
	{"EndTracers", func(svc *flowtrace.TraceService, ctx context.Context) { _, _ = svc.EndTracers(ctx, nil, nil) }},
}

// TestNoRunIsCheap makes each call that needs a run with a ctx that has
// none: a misconfigured engine makes such calls by the million, so they
// allocate nothing.
func TestNoRunIsCheap(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	svc, _, _ := newService(t)
	ctx := context.Background()
	for _, c := range noRunCalls {
		c.call(svc, ctx) // the first is reported, the rest only counted
		allocs := testing.AllocsPerRun(1000, func() { c.call(svc, ctx) })
		assert.Zero(t, allocs, "%s without a run allocates", c.op)
	}
}

// TestNoRunIsReportedOncePerInterval makes each call without a run a
// thousand times: the handler hears of each kind once, then once per
// interval with the count since, and Stats counts every call.
func TestNoRunIsReportedOncePerInterval(t *testing.T) {
	defer flowtrace.SetMisuseInterval(50 * time.Millisecond)()
	summaries := make(chan error, 16)
	log := &errorLog{}
	svc, err := flowtrace.NewTraceService(flowtrace.WithErrorHandler(func(err error) {
		log.handle(err)
		if strings.Contains(err.Error(), "more") {
			summaries <- err
		}
	}))
	require.NoError(t, err)
	defer func() { require.NoError(t, svc.Shutdown(deadline(t))) }()
	for _, c := range noRunCalls {
		for range 1000 {
			c.call(svc, context.Background())
		}
	}
	assert.Equal(t, uint64(4000), svc.Stats().NoRun, "every call without a run is counted")
	for range noRunCalls {
		select {
		case err := <-summaries:
			require.ErrorIs(t, err, flowtrace.ErrNoRun)
			assert.Contains(t, err.Error(), "999 more", "the summary counts the calls since the first report")
		case <-deadline(t).Done():
			t.Fatal("the calls after the first were not summarised at the end of the interval")
		}
	}
	reports := log.all()
	require.Len(t, reports, 8, "one report and one summary per kind: %v", reports)
	for _, c := range noRunCalls {
		n := 0
		for _, err := range reports {
			if strings.HasPrefix(err.Error(), c.op+":") {
				n++
			}
		}
		assert.Equal(t, 2, n, "reports of %s", c.op)
	}
}

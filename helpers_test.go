package flowtrace_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

// testDeadline bounds every wait on asynchronous work in these tests.
const testDeadline = 30 * time.Second

func deadline(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	t.Cleanup(cancel)
	return ctx
}

// within returns ctx (which carries a run) bounded by the test deadline.
func within(t testing.TB, ctx context.Context) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, testDeadline)
	t.Cleanup(cancel)
	return ctx
}

// errorLog collects what the error handler receives.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorLog) handle(err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
}

func (l *errorLog) count(target error) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.errs {
		if errors.Is(e, target) {
			n++
		}
	}
	return n
}

func (l *errorLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// newService returns a service delivering to a fresh memory exporter (plus
// extra exporters), whose errors go to the returned log. It is shut down
// when the test ends.
func newService(t testing.TB, opts ...flowtrace.Option) (*flowtrace.TraceService, *memory.Exporter, *errorLog) {
	t.Helper()
	rec := memory.New()
	log := &errorLog{}
	all := append([]flowtrace.Option{flowtrace.WithExporter(rec), flowtrace.WithErrorHandler(log.handle)}, opts...)
	svc, err := flowtrace.NewTraceService(all...)
	require.NoError(t, err, "NewTraceService with valid options")
	t.Cleanup(func() {
		require.NoError(t, svc.Shutdown(deadline(t)), "Shutdown at the end of the test")
	})
	return svc, rec, log
}

// requireBalanced checks that every exporter of a summary accounted for
// every event.
func requireBalanced(t testing.TB, sum flowtrace.RunSummary) {
	t.Helper()
	require.NotEmpty(t, sum.Exporters, "summary of run %s names no exporter", sum.RunID)
	for name, d := range sum.Exporters {
		require.Equal(t, d.Emitted, d.Delivered+d.Dropped+d.Failed,
			"exporter %s of run %s: emitted must equal delivered+dropped+failed, got %+v", name, sum.RunID, d)
	}
}

func requireStatsBalanced(t testing.TB, st flowtrace.Stats) {
	t.Helper()
	for name, d := range st.Exporters {
		require.Equal(t, d.Emitted, d.Delivered+d.Dropped+d.Failed,
			"stats of exporter %s: emitted must equal delivered+dropped+failed, got %+v", name, d)
	}
}

func runID(t testing.TB, ctx context.Context) string {
	t.Helper()
	rc, ok := flowtrace.RunFromContext(ctx)
	require.True(t, ok, "ctx must carry a run")
	return rc.RunID()
}

func component(t testing.TB, run memory.Run, name string) memory.Component {
	t.Helper()
	for _, c := range run.Components {
		if c.Info.Name == name {
			return c
		}
	}
	require.Failf(t, "component not recorded", "run %s has no component %q", run.Info.RunID, name)
	return memory.Component{}
}

// waitFor polls cond until it holds, yielding in between, and fails the
// test at the test deadline. For states the API gives no channel for.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx := deadline(t)
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting until %s", what)
		default:
			runtime.Gosched()
		}
	}
}

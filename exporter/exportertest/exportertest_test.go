package exportertest_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/exportertest"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

// fault is a memory exporter with one defect switched on.
type fault struct {
	*memory.Exporter
	name     func() string
	shutdown func() error
	// ctxShutdown makes Shutdown return only when its ctx is done.
	ctxShutdown bool
	onRun       func(re flowtrace.RunExporter) flowtrace.RunExporter
}

func (f *fault) Name() string {
	if f.name != nil {
		return f.name()
	}
	return f.Exporter.Name()
}

func (f *fault) StartRun(ctx context.Context, r flowtrace.RunStart) (flowtrace.RunExporter, error) {
	re, err := f.Exporter.StartRun(ctx, r)
	if err == nil && f.onRun != nil {
		re = f.onRun(re)
	}
	return re, err
}

func (f *fault) Shutdown(ctx context.Context) error {
	if f.ctxShutdown {
		// Once the suite's deadline has passed, the service gives the
		// exporter its export timeout (5 s) to shut down: the test ends
		// that wait itself, not to leave the goroutine behind.
		stop := make(chan struct{})
		leak(stop)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-stop:
			return errors.New("stopped")
		}
	}
	if f.shutdown != nil {
		return f.shutdown()
	}
	return f.Exporter.Shutdown(ctx)
}

// refusing returns err and a nil RunExporter from every StartRun.
type refusing struct {
	*memory.Exporter
	err error
}

func (r *refusing) StartRun(context.Context, flowtrace.RunStart) (flowtrace.RunExporter, error) {
	return nil, r.err
}

// faultyRun overrides some methods of a memory RunExporter.
type faultyRun struct {
	flowtrace.RunExporter
	startComponent func(c flowtrace.ComponentStart) error
	endRun         func(e flowtrace.RunEnd) error
	open           map[string]bool
}

func (r *faultyRun) StartComponent(ctx context.Context, c flowtrace.ComponentStart) error {
	if r.open != nil {
		r.open[c.ComponentID] = true
	}
	if r.startComponent != nil {
		if err := r.startComponent(c); err != nil {
			return err
		}
	}
	return r.RunExporter.StartComponent(ctx, c)
}

func (r *faultyRun) EndComponent(ctx context.Context, c flowtrace.ComponentEnd) error {
	delete(r.open, c.ComponentID)
	return r.RunExporter.EndComponent(ctx, c)
}

func (r *faultyRun) EndRun(ctx context.Context, e flowtrace.RunEnd) error {
	if r.endRun != nil {
		if err := r.endRun(e); err != nil {
			return err
		}
	}
	return r.RunExporter.EndRun(ctx, e)
}

func TestRunPassesAConformingExporter(t *testing.T) {
	exportertest.Run(t, func(*testing.T) flowtrace.Exporter { return memory.New() },
		exportertest.WithGoroutineCheck(), exportertest.WithConcurrentRuns(8))
}

func TestTestExporterFindsEachDefect(t *testing.T) {
	tests := []struct {
		name string
		make func() flowtrace.Exporter
		opts []exportertest.Option
		want []string // in the error, each
	}{
		{
			name: "empty name",
			make: func() flowtrace.Exporter { return &fault{Exporter: memory.New(), name: func() string { return "" }} },
			want: []string{"Name returned the empty string", "NewTraceService refused the exporter"},
		},
		{
			name: "unstable name",
			make: func() flowtrace.Exporter {
				var n atomic.Int64
				return &fault{Exporter: memory.New(), name: func() string {
					if n.Add(1) > 2 {
						return "renamed"
					}
					return "stable"
				}}
			},
			want: []string{`Name returned "stable", then "renamed"`},
		},
		{
			name: "modifies a record during the call",
			make: func() flowtrace.Exporter {
				return &fault{Exporter: memory.New(), onRun: func(re flowtrace.RunExporter) flowtrace.RunExporter {
					return &faultyRun{RunExporter: re, startComponent: func(c flowtrace.ComponentStart) error {
						// Fields cannot be written to; the values in them can.
						if n, ok := c.Inputs.Get("nested"); ok {
							n.(map[string]any)["added"] = true
						}
						return nil
					}}
				}}
			},
			want: []string{"CompleteRun: StartComponent of component", "modified its record"},
		},
		{
			name: "modifies a retained record later",
			make: func() flowtrace.Exporter {
				return &fault{Exporter: memory.New(), onRun: func(re flowtrace.RunExporter) flowtrace.RunExporter {
					var kept map[string]any
					return &faultyRun{RunExporter: re,
						startComponent: func(c flowtrace.ComponentStart) error {
							if n, ok := c.Inputs.Get("nested"); ok && kept == nil {
								kept = n.(map[string]any)
							}
							return nil
						},
						endRun: func(flowtrace.RunEnd) error {
							if kept != nil {
								kept["model"] = "changed"
							}
							return nil
						},
					}
				}}
			},
			want: []string{"the record was modified after the call returned"},
		},
		{
			name: "refuses a run with a component left open by a drop",
			make: func() flowtrace.Exporter {
				return &fault{Exporter: memory.New(), onRun: func(re flowtrace.RunExporter) flowtrace.RunExporter {
					r := &faultyRun{RunExporter: re, open: map[string]bool{}}
					r.endRun = func(flowtrace.RunEnd) error {
						if len(r.open) > 0 {
							return errors.New("components still open")
						}
						return nil
					}
					return r
				}}
			},
			want: []string{"DroppedRecords: EndRun of run", "components still open"},
		},
		{
			name: "refuses a component whose parent it never saw",
			make: func() flowtrace.Exporter {
				return &fault{Exporter: memory.New(), onRun: func(re flowtrace.RunExporter) flowtrace.RunExporter {
					r := &faultyRun{RunExporter: re, open: map[string]bool{}}
					r.startComponent = func(c flowtrace.ComponentStart) error {
						if c.ParentID != "" && !r.open[c.ParentID] {
							return errors.New("unknown parent")
						}
						return nil
					}
					return r
				}}
			},
			want: []string{"DroppedRecords: StartComponent of component", "unknown parent"},
		},
		{
			name: "refuses every run",
			make: func() flowtrace.Exporter {
				return &refusing{Exporter: memory.New(), err: errors.New("backend unreachable")}
			},
			want: []string{"CompleteRun: StartRun of run", "backend unreachable", "records failed on the exporter"},
		},
		{
			name: "returns a nil RunExporter",
			make: func() flowtrace.Exporter { return &refusing{Exporter: memory.New()} },
			want: []string{"returned a nil RunExporter and no error"},
		},
		{
			name: "Shutdown waits for its ctx to end",
			make: func() flowtrace.Exporter {
				return &fault{Exporter: memory.New(), shutdown: func() error { return errors.New("unreachable") }, ctxShutdown: true}
			},
			opts: []exportertest.Option{exportertest.WithTimeout(50 * time.Millisecond)},
			want: []string{"ShutdownWithoutRuns: Shutdown of the service", "context deadline exceeded", "a second Shutdown of the exporter"},
		},
		{
			name: "second Shutdown fails",
			make: func() flowtrace.Exporter {
				var calls atomic.Int64
				return &fault{Exporter: memory.New(), shutdown: func() error {
					if calls.Add(1) > 1 {
						return errors.New("already shut down")
					}
					return nil
				}}
			},
			want: []string{"a second Shutdown of the exporter must return nil", "already shut down"},
		},
		{
			name: "second Shutdown panics",
			make: func() flowtrace.Exporter {
				done := make(chan struct{})
				return &fault{Exporter: memory.New(), shutdown: func() error { close(done); return nil }}
			},
			want: []string{"ShutdownWithoutRuns: a second Shutdown", "panic: close of closed channel"},
		},
		{
			name: "panics on a record",
			make: func() flowtrace.Exporter {
				return &fault{Exporter: memory.New(), onRun: func(re flowtrace.RunExporter) flowtrace.RunExporter {
					return &faultyRun{RunExporter: re, startComponent: func(c flowtrace.ComponentStart) error {
						if c.Name == "tool" {
							panic("tool start")
						}
						return nil
					}}
				}}
			},
			want: []string{"CompleteRun: StartComponent of component tool-1", "panic: tool start"},
		},
		{
			name: "leaves a goroutine behind",
			make: func() flowtrace.Exporter {
				return leakingExporter()
			},
			opts: []exportertest.Option{exportertest.WithGoroutineCheck()},
			want: []string{"goroutines still running after Shutdown returned"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer stopLeaked()
			err := exportertest.TestExporter(tt.make, append(tt.opts, exportertest.WithConcurrentRuns(4))...)
			require.Error(t, err, "the suite must find the defect")
			for _, w := range tt.want {
				assert.ErrorContains(t, err, w)
			}
		})
	}
}

// leaked are the goroutines faulty exporters leave behind, stopped after
// each test so that the package's own leak check passes.
var (
	leakedMu sync.Mutex
	leaked   []chan struct{}
)

func leak(stop chan struct{}) {
	leakedMu.Lock()
	defer leakedMu.Unlock()
	leaked = append(leaked, stop)
}

func stopLeaked() {
	leakedMu.Lock()
	defer leakedMu.Unlock()
	for _, c := range leaked {
		close(c)
	}
	leaked = nil
}

// parked is the goroutine the leaking exporter leaves behind.
func parked(stop chan struct{}) { <-stop }

func leakingExporter() flowtrace.Exporter {
	stop := make(chan struct{})
	go parked(stop)
	leak(stop)
	return memory.New()
}

func TestGoroutineCheckIgnores(t *testing.T) {
	defer stopLeaked()
	err := exportertest.TestExporter(leakingExporter, exportertest.WithConcurrentRuns(4),
		exportertest.WithGoroutineCheck(goleak.IgnoreTopFunction("github.com/flowtrace/flowtrace/exporter/exportertest_test.parked")))
	assert.NoError(t, err, "a goroutine the check is told to ignore is not reported")
}

func TestNilExporter(t *testing.T) {
	err := exportertest.TestExporter(func() flowtrace.Exporter { return nil })
	assert.ErrorContains(t, err, "newExporter returned a nil Exporter")
}

package otelspans

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/flowtrace/flowtrace"
)

// instrumentationName names the bridge's tracer.
const instrumentationName = "github.com/flowtrace/flowtrace/exporter/otelspans"

// Exporter is a flowtrace.Exporter that turns each run into OpenTelemetry
// spans: the run is a span, each component a child span under its parent
// component, each log a span event.
//
// An Exporter is safe for concurrent use, as flowtrace requires. Make one
// with New or NewOTLP; the zero value is not usable.
type Exporter struct {
	cfg    config
	tracer trace.Tracer
	tp     trace.TracerProvider
	links  links
	otlp   *sender // NewOTLP's queue and sender, shut down by Shutdown
}

var _ flowtrace.Exporter = (*Exporter)(nil)

// New returns an Exporter that starts its spans with tp. It never touches
// the global TracerProvider or propagator. The provider's sampler and span
// limits apply to every span. Shutdown flushes tp (when it has a
// ForceFlush method, as the SDK's does) but does not shut it down: tp
// belongs to the caller. A nil tp records nothing.
//
// For the spans to carry the span IDs flowtrace decided, which links to
// nested runs and to other processes need, build tp with
// sdktrace.WithIDGenerator(IDGenerator()).
func New(tp trace.TracerProvider, opts ...Option) *Exporter {
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	return newExporter(tp, newConfig(opts))
}

func newExporter(tp trace.TracerProvider, cfg config) *Exporter {
	return &Exporter{cfg: cfg, tp: tp, tracer: tp.Tracer(instrumentationName)}
}

// Name returns the exporter's name: "otelspans" unless WithName says
// otherwise.
func (e *Exporter) Name() string {
	if e == nil || e.cfg.name == "" {
		return "otelspans"
	}
	return e.cfg.name
}

// TracerProvider returns the provider the exporter starts its spans with:
// the one given to New, or NewOTLP's own, whose tracers send to the same
// endpoint and which has a ForceFlush(ctx) error method, as the SDK's. A
// nil or zero Exporter's is a no-op provider.
func (e *Exporter) TracerProvider() trace.TracerProvider {
	if e == nil || e.tp == nil {
		return noop.NewTracerProvider()
	}
	return e.tp
}

// StartRun starts the run's span and returns the RunExporter that adds
// the run's components, logs and outputs to it.
func (e *Exporter) StartRun(_ context.Context, run flowtrace.RunStart) (flowtrace.RunExporter, error) {
	if e == nil || e.tracer == nil {
		return nil, errZero
	}
	return e.startRun(run), nil
}

var errZero = errors.New("otelspans: zero Exporter: make one with New or NewOTLP")

// SpanStats returns the span counts of an exporter NewOTLP built; the zero
// SpanStats for one New built. It is safe to call at any time.
func (e *Exporter) SpanStats() SpanStats {
	if e == nil || e.otlp == nil {
		return SpanStats{}
	}
	return e.otlp.stats()
}

// Shutdown flushes the spans of every ended run. An exporter NewOTLP built
// then stops, and the spans it did not export — refused, unreachable, or
// still unsent when ctx ended — are counted in the error returned
// (wrapping ErrExport); a provider given to New is only flushed. It honours ctx's deadline and may be called more than once.
func (e *Exporter) Shutdown(ctx context.Context) error {
	if e == nil || e.tp == nil {
		return nil
	}
	if e.otlp != nil {
		return e.otlp.shutdown(ctx)
	}
	if f, ok := e.tp.(interface{ ForceFlush(context.Context) error }); ok {
		if err := f.ForceFlush(ctx); err != nil {
			return fmt.Errorf("otelspans: flush: %w", err)
		}
	}
	return nil
}

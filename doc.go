// Package flowtrace gives every workflow run its own trace context.
//
// A workflow engine runs many runs at once, each a tree of components.
// flowtrace keeps each run in context.Context as an immutable value:
// StartTracers opens a run, TraceComponent derives a child scope, AddLog and
// SetOutputs write through the scope they are handed, and EndTracers closes
// the run once everything it recorded has been delivered. A TraceService
// holds configuration and the delivery pipeline, never per-run state, so a
// run that pauses for minutes can never have its data land on another run.
//
// # Recording
//
//	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(memory.New()))
//	ctx, err = svc.StartTracers(ctx, flowtrace.RunInfo{RunName: "support-bot"})
//	cctx, comp := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "OpenAI", Type: "llm", Inputs: in})
//	svc.AddLog(cctx, flowtrace.Log{Name: "prompt", Message: prompt})
//	svc.SetOutputs(cctx, map[string]any{"text": answer})
//	comp.End(err)
//	summary, err := svc.EndTracers(ctx, map[string]any{"answer": answer}, runErr)
//
// Code that has the ctx but not the service — a node, a tool, a helper deep
// in a call tree — records with the package-level functions of the same
// names, which act through the service that owns the run in ctx:
//
//	cctx, _ := flowtrace.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "search", Type: "tool"})
//	flowtrace.SetOutputs(cctx, map[string]any{"documents": docs})
//	flowtrace.EndComponent(cctx, err)
//
// Starting and ending runs stays on the service, which holds the
// configuration. The methods suit code that holds the service anyway (an
// engine's run loop); the functions suit code that only records.
//
// Values passed in (inputs, metadata, log messages, outputs) are snapshotted
// before the call returns: the caller may reuse its maps at once. Secrets
// under well-known keys are masked in the snapshot, and sizes are bounded.
//
// # What exporters receive
//
// Each call of the recording API becomes one record for every exporter,
// handed to the RunExporter that exporter's StartRun returned for the run
// (or, when a queue overflows, dropped and counted; see Delivery):
//
//	caller passes                        exporter receives
//	StartTracers(ctx, RunInfo)           Exporter.StartRun(ctx, RunStart)
//	TraceComponent(ctx, ComponentInfo)   RunExporter.StartComponent(ctx, ComponentStart)
//	AddLog(ctx, Log)                     RunExporter.AddLog(ctx, LogEntry)
//	SetOutputs(ctx, map[string]any)      RunExporter.SetOutputs(ctx, Outputs)
//	Component.End(err)                   RunExporter.EndComponent(ctx, ComponentEnd)
//	EndTracers(ctx, outputs, err)        RunExporter.EndRun(ctx, RunEnd), the run's last call
//	SuspendTracers(ctx, outputs)         RunExporter.EndRun(ctx, RunEnd{Suspended: true})
//	Shutdown(ctx)                        Exporter.Shutdown(ctx), after the exporter's last run
//
// The library adds what the caller does not pass: the run and component
// IDs when they were left empty, the parents (the run and component the
// ctx carries), the trace and span IDs, and the time of the call. Values
// (Metadata, Inputs, Message, outputs) arrive as snapshots, the maps among
// them as Fields, ordered by name; errors as
// recorded errors (see ComponentEnd). A component still open when its run
// ends reaches exporters as an EndComponent with ErrComponentNotEnded,
// before EndRun. In the other direction, nothing an exporter returns
// reaches the caller except through RunSummary, Stats and the error
// handler.
//
// # Delivery
//
// The caller's goroutine only snapshots, builds an immutable event and
// enqueues it; timestamps are taken there. Each exporter has its own bounded
// queue and one worker goroutine, which calls that exporter's RunExporters
// one at a time, in the order events happened. A full queue drops (or, with
// BlockFor, waits a bounded time), and every event is counted as delivered,
// dropped or failed in the RunSummary that EndTracers returns and in Stats.
// An exporter call that errs, panics or outlives the export timeout fails
// its event without stalling the workflow or the other exporters.
//
// # Misuse
//
// A ctx without a run, a nil *Component, a second End or EndTracers, or a
// write after its scope ended never panics: the call does nothing, late
// writes are counted in Stats.Late, and the error handler receives an error
// wrapping ErrNoRun, ErrRunEnded or ErrComponentEnded. Calls without a run
// cost a counter (Stats.NoRun) and are reported once per kind of call per
// interval, with their count. The package-level functions, with no run in
// ctx, have no service to report to: they do nothing, silently, and
// allocate nothing. The library installs no global state.
//
// # Across processes
//
// A nested run (StartTracers in a ctx that carries a run) and a run
// continuing a remote caller (ContextWithRemoteParent, which package
// tracing's HTTP middleware uses) belong to their parent's trace: same
// trace ID, a span under the parent's, the parent's sampling decision
// (WithSampler decides only for top-level runs).
//
// # With OpenTelemetry
//
// Inside a run or component, trace.SpanFromContext(ctx) and
// trace.SpanContextFromContext(ctx) (go.opentelemetry.io/otel/trace) give
// that scope's span context, so spans that other OpenTelemetry
// instrumentation starts in the ctx are children of the component; the
// span in ctx records nothing itself. StartTracers in a ctx that carries
// no run but a valid OpenTelemetry span joins that span's trace under it,
// with its sampling decision and trace state.
//
// # Suspend and resume
//
// SuspendTracers ends a run that waits (for a person, say) as suspended,
// neither failed nor finished, and returns a Checkpoint: plain JSON that
// an engine keeps in its own store. StartTracers under
// ContextWithCheckpoint, in this process or another, days later, starts
// the continuation: same trace, session and user, the suspended run as
// its parent, RunStart.Resumed set.
//
// # Backends
//
// Exporters live in their own packages: exporter/memory records runs for
// tests, exporter/jsonl writes one JSON object per event, exporter/console
// prints each run as a tree when it ends, exporter/otelspans delivers runs
// as OpenTelemetry spans, through OTLP to any tracing backend. Writing one means implementing
// Exporter and RunExporter (see their contracts); exporter/exportertest
// checks an implementation against them, as testing/slogtest does for slog
// handlers.
package flowtrace

// Package otelspans delivers flowtrace runs as OpenTelemetry spans, and
// through OTLP to any tracing backend: a Collector, Jaeger, Arize Phoenix,
// Langfuse, LangSmith, Opik.
//
// # Spans
//
// Each run becomes a span named after its RunName ("run" when empty), and
// each component a child span named after its Name, under its parent
// component. Logs become span events named after the log, with its
// message and type as attributes. Inputs, outputs and metadata become
// attributes (as JSON). An error sets the span's status to Error with the
// error's message, already masked by flowtrace, and adds an "exception"
// event. Start and end times are the ones flowtrace took on the caller's
// goroutine, so asynchronous export keeps exact timing.
//
// A run nested in another run (a flow used as a tool of another flow) is
// in its parent's trace, its span a child of the component that started
// it; so is a run that continues a caller in another process (see
// package tracing). The bridge builds these links from the IDs in the
// records, never by looking up another run's span.
//
// # IDs
//
// flowtrace decides trace and span IDs on the caller's goroutine, so that
// an outgoing request can name its parent span before that span is
// exported. IDGenerator makes the SDK use exactly those IDs; NewOTLP always
// uses them too. A provider of your own built without it keeps the tree
// within each run, but its spans get the SDK's IDs: nested runs and callers
// in other processes then name parents the exported trace does not have.
//
// # Conventions
//
// By default the attributes follow OpenInference (openinference.span.kind
// from the component type: llm→LLM, tool→TOOL, retriever→RETRIEVER,
// embedding→EMBEDDING, agent→AGENT, reranker→RERANKER,
// guardrail→GUARDRAIL, evaluator→EVALUATOR, prompt→PROMPT, anything else
// and runs→CHAIN; input.value, output.value, metadata, session.id,
// user.id), which LLM-observability backends render without
// configuration. WithConventions(GenAI) writes the OpenTelemetry GenAI keys
// instead, or as well. flowtrace's own keys (flowtrace.run.id, ...) are
// always written, and the run's identity — run, session and user IDs — is
// on every span, first, so that span limits never drop it and backends
// can filter any span by it.
//
// With GenAI, a run is gen_ai.operation.name=invoke_workflow with
// gen_ai.workflow.name, and a model call writes the gen_ai.request.*,
// gen_ai.response.* and gen_ai.usage.* keys of keys.go; its messages only
// when OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT is true. With
// GenAI alone, spans are named as its conventions say: "invoke_workflow
// {run}", "invoke_agent {name}", "execute_tool {tool}", and "chat {model}"
// or "embeddings {model}" once a model call names the model; with
// OpenInference as well they keep flowtrace's names, which the
// OpenInference backends show. The OPENINFERENCE_HIDE_* variables of
// privacy.go hide OpenInference's values and messages. Both are read when
// New or NewOTLP builds the bridge. The MCP keys of a start's metadata
// (mcp.method.name, gen_ai.tool.name, ...) are attributes of their own.
//
// # Backends
//
// NewOTLP alone sends to a Collector or Jaeger (OTEL_EXPORTER_OTLP_ENDPOINT,
// default http://localhost:4318). A preset points it at an LLM-observability
// backend, reading the variables that backend's own SDKs read, so a service
// already set up for one needs no new configuration:
//
//	exp, err := otelspans.NewOTLP(ctx, otelspans.Langfuse())
//
// Langfuse reads LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY and
// LANGFUSE_BASE_URL; Phoenix reads PHOENIX_COLLECTOR_ENDPOINT,
// PHOENIX_API_KEY and PHOENIX_PROJECT; LangSmith reads LANGSMITH_API_KEY,
// LANGSMITH_ENDPOINT and LANGSMITH_PROJECT; Opik reads OPIK_URL_OVERRIDE,
// OPIK_API_KEY, OPIK_WORKSPACE and OPIK_PROJECT_NAME. Each preset's doc
// lists its variables, defaults and the headers it sends. A preset only
// sets the endpoint and headers (and Phoenix's project resource
// attribute): everything else is NewOTLP's, and options after a preset
// win. A missing key or a malformed URL is an error from NewOTLP naming
// the variable, never printing a key, a URL's user info or its query.
//
// # Lifecycle
//
// New uses a provider you own: the bridge never touches the global
// TracerProvider or propagator, honours the provider's sampler and span
// limits, and its Shutdown flushes the provider without shutting it down.
// NewOTLP needs no SDK: it configures itself from the environment, encodes
// each span straight into an OTLP/HTTP protobuf request when it ends (the
// same spans, field by field, as the SDK's OTLP exporter sends), and posts
// the requests from one goroutine of its own — batched, gzipped, retried
// on 429, 502, 503 and 504 as Retry-After says. Its Shutdown — called by
// TraceService.Shutdown — sends what is left and stops that goroutine, so
// one svc.Shutdown(ctx) is the whole teardown.
//
// NewOTLP loses no span silently: its full queue makes the delivery wait,
// so that flowtrace's queue drops and counts instead; a failed export, or
// the spans a backend rejects in a partial success, go to the error
// handler; Shutdown's error counts every span not exported; SpanStats has
// the counts.
package otelspans

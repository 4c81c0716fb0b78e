package otelspans

import (
	"fmt"
	"net/http"
	"time"

	"golang.org/x/net/http/httpguts"
)

// Conventions selects the attribute keys the bridge writes. Values combine
// with |. The zero value means OpenInference.
type Conventions uint8

const (
	// OpenInference writes the OpenInference keys (openinference.span.kind,
	// input.value, output.value, metadata, session.id, user.id) that
	// Phoenix, Langfuse, LangSmith and Opik render without configuration.
	OpenInference Conventions = 1 << iota
	// GenAI writes the OpenTelemetry GenAI keys (gen_ai.operation.name,
	// gen_ai.conversation.id, ...).
	GenAI
)

// Option configures New and NewOTLP. Options that only concern the OTLP
// connection (WithServiceName, WithEndpointURL, WithHeaders, the presets)
// are ignored by New, which is handed a provider already built.
type Option func(*config)

type config struct {
	name        string
	conventions Conventions
	privacy     privacy // read from the environment by newConfig

	// NewOTLP only.
	serviceName   string
	endpoint      string // full URL of the traces endpoint
	endpointVar   string // the variable it came from, for errors
	headers       map[string]string
	resourceAttrs map[string]string
	compression   string // "gzip" or "none"; "" reads the environment
	timeout       time.Duration
	batchTimeout  time.Duration
	onError       func(error)
	errs          []error
}

func newConfig(opts []Option) config {
	c := config{name: "otelspans", conventions: OpenInference, onError: defaultErrorHandler, privacy: privacyFromEnv()}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

func (c *config) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("otelspans: "+format, args...))
}

// setHeader sets header k, in its canonical form: HTTP header names are
// case-insensitive, and the exporter sends each key of the map, so
// "authorization" and "Authorization" must not both be there. A name that
// is no HTTP token, or a value with a control character, is an error
// naming the header, never quoting its value: every request would fail in
// the transport.
func (c *config) setHeader(k, v string) {
	if err := checkHeader(k, v); err != nil {
		c.errs = append(c.errs, fmt.Errorf("otelspans: %w", err))
		return
	}
	if c.headers == nil {
		c.headers = make(map[string]string)
	}
	c.headers[http.CanonicalHeaderKey(k)] = v
}

func (c *config) setResource(k, v string) {
	if c.resourceAttrs == nil {
		c.resourceAttrs = make(map[string]string)
	}
	c.resourceAttrs[k] = v
}

// WithName sets the exporter's name (default "otelspans"), so that one
// TraceService can deliver to two bridges, each to its own backend.
// An empty name is ignored.
func WithName(name string) Option {
	return func(c *config) {
		if name != "" {
			c.name = name
		}
	}
}

// WithConventions selects the attribute keys written: OpenInference (the
// default), GenAI, or OpenInference|GenAI. Flowtrace's own keys
// (flowtrace.run.id, ...) are always written, and without OpenInference
// inputs, outputs and metadata go under flowtrace.inputs,
// flowtrace.outputs and flowtrace.metadata. Bits other than these two are
// ignored; nothing left means the default.
func WithConventions(c Conventions) Option {
	return func(cfg *config) {
		if c &= OpenInference | GenAI; c != 0 {
			cfg.conventions = c
		}
	}
}

// WithErrorHandler sets the function that receives the failures of
// NewOTLP's exports (a backend refusing spans, or unreachable; spans still
// queued when Shutdown's ctx ended), each wrapping ErrExport and counting
// its spans, and the backend's warnings about spans it accepted (a partial
// success rejecting none), wrapping ErrExportWarning. It is called, one
// error at a time and in order, from a goroutine of the exporter, or from
// the goroutine ending a span after Shutdown. It should not block: exports
// go on without it, but Shutdown waits for it until its ctx ends (every
// span is counted by then all the same), and errors beyond 1,024 waiting
// for it are counted, not delivered. It may call Shutdown.
// By default failures are logged through log/slog's default logger; they
// never reach OpenTelemetry's global error handler. A nil h keeps the
// default.
func WithErrorHandler(h func(error)) Option {
	return func(c *config) {
		if h != nil {
			c.onError = h
		}
	}
}

// WithServiceName sets the service.name of the resource NewOTLP sends,
// overriding OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
func WithServiceName(name string) Option {
	return func(c *config) {
		if name != "" {
			c.serviceName = name
		}
	}
}

// WithEndpointURL sets the full URL NewOTLP sends traces to (for example
// "http://127.0.0.1:4318/v1/traces"), overriding the environment.
func WithEndpointURL(u string) Option {
	return func(c *config) {
		c.endpoint, c.endpointVar = u, "WithEndpointURL"
	}
}

// WithHeaders adds HTTP headers to every export request of NewOTLP, over
// those from the environment.
func WithHeaders(h map[string]string) Option {
	return func(c *config) {
		for k, v := range h {
			c.setHeader(k, v)
		}
	}
}

// WithGzip turns gzip compression of export requests on or off (default
// on, unless OTEL_EXPORTER_OTLP_COMPRESSION says "none").
func WithGzip(on bool) Option {
	return func(c *config) {
		c.compression = "none"
		if on {
			c.compression = "gzip"
		}
	}
}

// WithExportTimeout bounds the export of each batch of NewOTLP, its
// retries included (default 10 s).
func WithExportTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail("export timeout %v, want > 0", d)
			return
		}
		c.timeout = d
	}
}

// WithBatchTimeout sets how long NewOTLP waits before sending a batch that
// is not full (default 5 s, as the SDK's batch processor).
func WithBatchTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail("batch timeout %v, want > 0", d)
			return
		}
		c.batchTimeout = d
	}
}

// checkHeader says what is wrong with a header, naming it and never
// quoting its value, which is often a key.
func checkHeader(k, v string) error {
	if !httpguts.ValidHeaderFieldName(k) {
		return fmt.Errorf("header name %q is not a valid HTTP header name", k)
	}
	if !httpguts.ValidHeaderFieldValue(v) {
		return fmt.Errorf("header %s: its value has a character not allowed in HTTP (a control character?); the value is not shown", http.CanonicalHeaderKey(k))
	}
	return nil
}

package otelspans

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Environment variables NewOTLP reads, as the OpenTelemetry specification
// defines them.
const (
	EnvEndpoint          = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvTracesEndpoint    = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	EnvHeaders           = "OTEL_EXPORTER_OTLP_HEADERS"
	EnvTracesHeaders     = "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
	EnvCompression       = "OTEL_EXPORTER_OTLP_COMPRESSION"
	EnvTracesCompression = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"
	EnvProtocol          = "OTEL_EXPORTER_OTLP_PROTOCOL"
	EnvTracesProtocol    = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	EnvServiceName       = "OTEL_SERVICE_NAME"
	EnvResourceAttrs     = "OTEL_RESOURCE_ATTRIBUTES"
)

// Batching and timeout variables NewOTLP reads, as the SDK's batch
// processor and OTLP exporter do: milliseconds, or numbers of spans.
const (
	EnvTimeout           = "OTEL_EXPORTER_OTLP_TIMEOUT"
	EnvTracesTimeout     = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"
	EnvBSPScheduleDelay  = "OTEL_BSP_SCHEDULE_DELAY"
	EnvBSPExportTimeout  = "OTEL_BSP_EXPORT_TIMEOUT"
	EnvBSPMaxQueueSize   = "OTEL_BSP_MAX_QUEUE_SIZE"
	EnvBSPMaxExportBatch = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"
	EnvTracesSampler     = "OTEL_TRACES_SAMPLER"
	EnvTracesSamplerArg  = "OTEL_TRACES_SAMPLER_ARG"
)

// defaultExportTimeout bounds an export request, as the SDK's default.
const defaultExportTimeout = 10 * time.Second

// DefaultEndpoint is where NewOTLP sends traces when neither an option nor
// the environment says otherwise: a local Collector or Jaeger.
const DefaultEndpoint = "http://localhost:4318/v1/traces"

// NewOTLP returns an Exporter that sends its spans to an OTLP/HTTP
// (protobuf) endpoint itself, without the OpenTelemetry SDK on the way: its
// tracer records each span as the SDK's would (parent-based sampling,
// always on at the root; the SDK's default span limits; the IDs flowtrace
// decided, as IDGenerator gives them) and encodes it into an OTLP request
// when it ends. One goroutine of the exporter posts the requests: batches
// of up to 512 spans, sent when full or after the batch timeout
// (WithBatchTimeout, default 5 s), gzipped unless configured otherwise.
// (Another calls the error handler, so that one that blocks holds up no
// export.) Its Shutdown, which TraceService.Shutdown calls, sends what is
// left and stops both, so one svc.Shutdown(ctx) is the whole teardown.
//
// No span is lost silently between a run's records and the wire. The
// queue of unsent spans (2,048, as the SDK's) never drops: when it is full, ending a
// span waits, so the exporter's delivery call waits, and flowtrace's
// queue for the exporter fills behind it, dropping and counting as
// WithOverflow says (a call waiting past WithExportTimeout is abandoned,
// its events counted failed). A request answered 429, 502, 503 or 504, or
// that cannot reach the backend, is sent again after an exponential,
// jittered backoff, or after the response's Retry-After, while the export
// timeout (WithExportTimeout, default 10 s) allows. A batch the backend
// refuses (any other status, a redirect included: it is not followed, so
// the headers reach no other host), cannot be reached for that long, or whose
// spans it rejects in a partial success, goes to the error handler
// (WithErrorHandler), wrapping ErrExport with its number of spans.
// Shutdown's error counts every span ended and not exported: refused,
// unreachable, still unsent when its ctx ended (the export in flight is
// canceled), or ended after Shutdown. SpanStats has the counts.
//
// It is configured from the environment as it is when NewOTLP is called —
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (a full URL), else
// OTEL_EXPORTER_OTLP_ENDPOINT (a base URL, to which "/v1/traces" is added),
// OTEL_EXPORTER_OTLP_HEADERS and OTEL_EXPORTER_OTLP_TRACES_HEADERS,
// OTEL_EXPORTER_OTLP_COMPRESSION ("gzip", the default here, or "none"),
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES — then from opts, which
// win. (The SDK's default resource reads the environment once per process;
// NewOTLP reads it on every call, so two exporters in one process can speak
// for two services.) TracerProvider returns the exporter's own provider:
// spans started from its tracers go to the same endpoint, under their
// tracer's instrumentation scope. The batch size, queue size, batch
// timeout and export timeout are read, as the SDK reads them, from
// OTEL_BSP_MAX_EXPORT_BATCH_SIZE, OTEL_BSP_MAX_QUEUE_SIZE,
// OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_EXPORT_TIMEOUT and
// OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT, the options winning; the sampler
// from OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG. The SDK's span
// limit variables are not read: the limits are the SDK's defaults.
//
// A preset option (Langfuse, Phoenix, LangSmith, Opik) reads its
// backend's own variables when NewOTLP applies it: its endpoint replaces
// the OTEL_EXPORTER_OTLP_ ones, and its headers are set over
// OTEL_EXPORTER_OTLP_HEADERS (header names are case-insensitive).
//
// A malformed endpoint, header list, compression or resource attribute,
// or a preset's missing key, is an error naming the variable; nothing
// is sent, and no goroutine is left running. ctx bounds the construction
// only.
//
// No error, log line or panic of NewOTLP holds an endpoint's user info or
// query, or a header's value: errors say what is wrong with a URL without
// quoting it. The endpoint's user info and query are not sent either (the
// exporter uses its scheme, host and path): credentials go in a header.
// An '@' left outside the user info (a password holding '/', '?' or '#',
// not percent-encoded) is an error.
func NewOTLP(ctx context.Context, opts ...Option) (*Exporter, error) {
	cfg := newConfig(opts)
	endpoint, err := cfg.traceEndpoint()
	if err != nil {
		cfg.errs = append(cfg.errs, err)
	}
	headers, herr := headersFromEnv()
	cfg.errs = append(cfg.errs, herr...)
	for k, v := range cfg.headers { // options and presets win
		headers[k] = v
	}
	if err := protocolFromEnv(); err != nil {
		cfg.errs = append(cfg.errs, err)
	}
	compression := cfg.compression
	if compression == "" {
		c, err := compressionFromEnv()
		if err != nil {
			cfg.errs = append(cfg.errs, err)
		}
		compression = c
	}
	bat, berr := batchingFromEnv()
	cfg.errs = append(cfg.errs, berr...)
	sampler, serr := samplerFromEnv()
	if serr != nil {
		cfg.errs = append(cfg.errs, serr)
	}
	if len(cfg.errs) > 0 {
		return nil, errors.Join(cfg.errs...)
	}
	res, err := buildResource(ctx, &cfg)
	if err != nil {
		return nil, err
	}

	transport, err := newTransport()
	if err != nil {
		return nil, err
	}
	q := newSender()
	// Scheme, host and path only: user info and query are never sent, nor
	// printed in an error.
	q.url = (&url.URL{Scheme: endpoint.Scheme, Host: endpoint.Host, Path: endpoint.Path, RawPath: endpoint.RawPath}).String()
	q.header = make(http.Header, len(headers)+3)
	for k, v := range headers {
		q.header.Set(k, v)
	}
	q.header.Set("Content-Type", "application/x-protobuf")
	q.header.Set("User-Agent", userAgent)
	if compression == "gzip" {
		q.gzip = true
		q.header.Set("Content-Encoding", "gzip")
	}
	q.client = &http.Client{
		Transport: transport,
		// A redirect is not followed: Go's client would send the
		// exporter's headers (API keys in x-api-key and the like) to
		// whatever host it names. Its 3xx is a refused batch, reported
		// by its status, never its Location.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	q.transport = transport
	q.timeout = cmp.Or(cfg.timeout, bat.timeout, defaultExportTimeout)
	if bat.bspTimeout > 0 { // the batch processor's bound on each export, around the exporter's
		q.timeout = min(q.timeout, bat.bspTimeout)
	}
	q.interval = cmp.Or(cfg.batchTimeout, bat.delay, defaultBatchTimeout)
	q.maxQueue = cmp.Or(bat.queue, q.maxQueue)
	q.maxBatch = min(cmp.Or(bat.batch, q.maxBatch), q.maxQueue)
	q.resource, q.resSchema = encodeResource(res), res.SchemaURL()
	q.onError = safe(cfg.onError)
	q.start()
	e := newExporter(&otlpProvider{q: q, sampler: sampler}, cfg)
	e.otlp = q
	return e, nil
}

// userAgent names the exporter in its requests.
const userAgent = "flowtrace-otelspans OTLP/HTTP exporter"

// defaultBatchTimeout is how long a batch that is not full waits, as the
// SDK's default.
const defaultBatchTimeout = 5 * time.Second

// batching is what the environment says of batches and timeouts; zero
// values keep the defaults.
type batching struct {
	timeout, bspTimeout, delay time.Duration
	queue, batch               int
}

// batchingFromEnv reads the variables the SDK's batch processor and OTLP
// exporter read. A value that is not a positive integer is an error
// naming its variable.
func batchingFromEnv() (batching, []error) {
	var b batching
	var errs []error
	read := func(name string) int {
		v := strings.TrimSpace(os.Getenv(name))
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("otelspans: %s=%q: want a positive integer", name, v))
			return 0
		}
		return n
	}
	// Milliseconds beyond time.Duration would overflow into a negative
	// duration: an error naming the variable, as for any malformed one.
	ms := func(name string) time.Duration {
		n := read(name)
		if n > math.MaxInt64/int(time.Millisecond) {
			errs = append(errs, fmt.Errorf("otelspans: %s=%d: milliseconds beyond %d (about 292 years)", name, n, math.MaxInt64/int64(time.Millisecond)))
			return 0
		}
		return time.Duration(n) * time.Millisecond
	}
	b.timeout = cmp.Or(ms(EnvTracesTimeout), ms(EnvTimeout))
	b.bspTimeout = ms(EnvBSPExportTimeout)
	b.delay = ms(EnvBSPScheduleDelay)
	b.queue = read(EnvBSPMaxQueueSize)
	b.batch = read(EnvBSPMaxExportBatch)
	return b, errs
}

// samplerFromEnv returns the sampler OTEL_TRACES_SAMPLER names, as the
// SDK reads it, or nil for the SDK's default (parent-based, always on),
// which NewOTLP's tracer applies itself. An unknown sampler or a ratio
// outside [0, 1] is an error naming the variable.
func samplerFromEnv() (sdktrace.Sampler, error) {
	name := strings.ToLower(strings.TrimSpace(os.Getenv(EnvTracesSampler)))
	arg := strings.TrimSpace(os.Getenv(EnvTracesSamplerArg))
	ratio := func() (sdktrace.Sampler, error) {
		if arg == "" {
			return sdktrace.TraceIDRatioBased(1), nil
		}
		v, err := strconv.ParseFloat(arg, 64)
		if err != nil || v < 0 || v > 1 {
			return nil, fmt.Errorf("otelspans: %s=%q: want a ratio between 0 and 1", EnvTracesSamplerArg, arg)
		}
		return sdktrace.TraceIDRatioBased(v), nil
	}
	switch name {
	case "", "parentbased_always_on":
		return nil, nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "traceidratio":
		return ratio()
	case "parentbased_traceidratio":
		s, err := ratio()
		if err != nil {
			return nil, err
		}
		return sdktrace.ParentBased(s), nil
	}
	return nil, fmt.Errorf("otelspans: %s=%q: want always_on, always_off, traceidratio or their parentbased_ forms", EnvTracesSampler, name)
}

// traceEndpoint returns the URL traces are sent to: the option's, else
// the traces endpoint of the environment, else its base endpoint with
// "/v1/traces" added, else DefaultEndpoint.
func (c *config) traceEndpoint() (*url.URL, error) {
	if c.endpoint != "" {
		return parseEndpoint(c.endpoint, c.endpointVar)
	}
	if v := strings.TrimSpace(os.Getenv(EnvTracesEndpoint)); v != "" {
		return parseEndpoint(v, EnvTracesEndpoint)
	}
	if v := strings.TrimSpace(os.Getenv(EnvEndpoint)); v != "" {
		base, err := parseEndpoint(v, EnvEndpoint)
		if err != nil {
			return nil, err
		}
		return base.JoinPath("v1", "traces"), nil
	}
	return parseEndpoint(DefaultEndpoint, "DefaultEndpoint")
}

// parseEndpoint checks that raw is an absolute http or https URL.
//
// Its errors print no part of raw: an endpoint may hold a password, and
// url.Parse's own errors quote pieces of it (a password with '#' or '/'
// becomes the port it complains about). They name from and say what is
// wrong instead.
func parseEndpoint(raw, from string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("otelspans: %s: invalid URL (%s; the URL is not shown, it may hold a secret)", from, parseProblem(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		// Not even the scheme: in "user:pass@host" it is the user name.
		return nil, fmt.Errorf("otelspans: %s: want an absolute http or https URL, such as %s (the URL is not shown, it may hold a secret)", from, DefaultEndpoint)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("otelspans: %s: URL has no host", from)
	}
	if u.User == nil && strings.Contains(raw, "@") {
		// A password with '/', '?' or '#' in it ends the authority early:
		// what follows (the rest of the password, '@', the host) became a
		// path, query or fragment that would be sent, or printed.
		return nil, fmt.Errorf("otelspans: %s: URL has an '@' outside its user info (a password holding '/', '?' or '#'? percent-encode it, or better, send it in a header)", from)
	}
	return u, nil
}

// parseProblem says what url.Parse found wrong, in words of its own: the
// parser's messages quote the input.
func parseProblem(err error) string {
	var esc url.EscapeError
	var host url.InvalidHostError
	switch msg := err.Error(); {
	case errors.As(err, &esc):
		return "a malformed percent-escape"
	case errors.As(err, &host):
		return "an invalid character in the host"
	case strings.Contains(msg, "invalid port"):
		return "an invalid port after the host; a password holding '/', '?' or '#' must be percent-encoded"
	case strings.Contains(msg, "missing protocol scheme"):
		return "no scheme"
	case strings.Contains(msg, "control character"):
		return "a control character"
	case strings.Contains(msg, "userinfo"):
		return "invalid user info"
	default:
		return "it cannot be parsed"
	}
}

// headersFromEnv reads the generic then the traces-specific header lists,
// the latter winning per key.
func headersFromEnv() (map[string]string, []error) {
	h := make(map[string]string)
	var errs []error
	for _, name := range []string{EnvHeaders, EnvTracesHeaders} {
		if err := parseHeaders(os.Getenv(name), h); err != nil {
			errs = append(errs, fmt.Errorf("otelspans: %s: %w", name, err))
		}
	}
	return h, errs
}

// parseHeaders parses a W3C-baggage-like list "k1=v1,k2=v2" with
// percent-encoded values into h. Errors name the position of the bad
// member, never its value, which is often a key.
func parseHeaders(list string, h map[string]string) error {
	if strings.TrimSpace(list) == "" {
		return nil
	}
	for i, member := range strings.Split(list, ",") {
		k, v, ok := strings.Cut(member, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t\r\n:") {
			return fmt.Errorf("member %d: want key=value", i+1)
		}
		val, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("member %d (%s): invalid percent-encoding", i+1, k)
		}
		if strings.ContainsAny(val, "\r\n") {
			return fmt.Errorf("member %d (%s): value has a line break", i+1, k)
		}
		if err := checkHeader(k, val); err != nil {
			return fmt.Errorf("member %d: %w", i+1, err)
		}
		h[http.CanonicalHeaderKey(k)] = val
	}
	return nil
}

// protocolFromEnv refuses a protocol other than the one NewOTLP speaks:
// sending HTTP to a gRPC port would fail on every export.
func protocolFromEnv() error {
	for _, name := range []string{EnvTracesProtocol, EnvProtocol} {
		switch v := strings.TrimSpace(os.Getenv(name)); v {
		case "":
			continue
		case "http/protobuf":
			return nil
		default:
			return fmt.Errorf("otelspans: %s=%q: NewOTLP sends http/protobuf; for %s, build a provider with that exporter and pass it to New", name, v, v)
		}
	}
	return nil
}

func compressionFromEnv() (string, error) {
	for _, name := range []string{EnvTracesCompression, EnvCompression} {
		switch v := strings.ToLower(strings.TrimSpace(os.Getenv(name))); v {
		case "":
			continue
		case "gzip", "none":
			return v, nil
		default:
			return "", fmt.Errorf("otelspans: %s=%q: want gzip or none", name, v)
		}
	}
	return "gzip", nil
}

// buildResource reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES now
// (not once per process, as resource.Default does), then applies the
// preset's and the options' attributes over them.
func buildResource(ctx context.Context, cfg *config) (*resource.Resource, error) {
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("otelspans: %s or %s: %w", EnvServiceName, EnvResourceAttrs, err)
	}
	var extra []attribute.KeyValue
	for k, v := range cfg.resourceAttrs {
		extra = append(extra, attribute.String(k, v))
	}
	if cfg.serviceName != "" {
		extra = append(extra, attribute.String("service.name", cfg.serviceName))
	} else if _, ok := res.Set().Value("service.name"); !ok {
		extra = append(extra, attribute.String("service.name", "unknown_service:"+filepath.Base(os.Args[0])))
	}
	merged, err := resource.Merge(res, resource.NewSchemaless(extra...))
	if err != nil {
		return nil, fmt.Errorf("otelspans: resource: %w", err)
	}
	return merged, nil
}

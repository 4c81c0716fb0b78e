package ftanthropic

import "github.com/anthropics/anthropic-sdk-go/v2/option"

// Option configures Middleware. There is none yet; the type keeps the
// signature stable for options to come.
type Option func(*config)

type config struct{}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// RequestOptions returns the middleware with the SDK settings that keep one
// span per call and one set of trace headers per request when flowtrace
// also traces the service: the SDK's own OpenTelemetry spans and its
// trace-context headers off (option.WithOpenTelemetryTraces(false), and
// option.WithOpenTelemetryPropagation(false) for good measure). The SDK
// emits both by default, through the globally registered provider, so
// that a program with flowtrace's OpenTelemetry bridge would export each
// call twice — once as flowtrace's component, once as the SDK's span — and
// an HTTP client instrumented by flowtrace's tracing package would send a
// second traceparent. Pass them to the client:
//
//	client := anthropic.NewClient(ftanthropic.RequestOptions()...)
//
// The alternative, keeping the SDK's spans as well, is not what this
// returns: a span per call in two shapes (the SDK's gen_ai attributes and
// flowtrace's) is the duplication the option exists to avoid. Use
// Middleware alone to keep the SDK's telemetry as configured.
func RequestOptions(opts ...Option) []option.RequestOption {
	return []option.RequestOption{
		option.WithMiddleware(Middleware(opts...)),
		option.WithOpenTelemetryTraces(false),
		option.WithOpenTelemetryPropagation(false),
	}
}

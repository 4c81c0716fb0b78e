package tracing

import (
	"net/http"
	"time"

	"github.com/flowtrace/flowtrace"
)

// Option configures Middleware, Transport and Inject. Each option
// says which of them it applies to; the others ignore it.
type Option func(*config)

type config struct {
	runName         func(*http.Request) string
	runInfo         func(*http.Request) flowtrace.RunInfo
	deliveryWait    time.Duration // 0: the Middleware does not wait
	trust           func(*http.Request) bool
	identityBaggage bool

	noClientComponents bool
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	c.deliveryWait = max(c.deliveryWait, 0)
	return c
}

// WithRunName names each request's run with f (Middleware). The default
// is the method and the path, as in "GET /items". A nil f, or an empty name
// returned, keeps the default.
func WithRunName(f func(*http.Request) string) Option {
	return func(c *config) { c.runName = f }
}

// WithRunInfo describes each request's run with f (Middleware): project
// name, user and session IDs, metadata, even the run ID. The run's name is
// f's RunName when not empty, else the one WithRunName or the default
// gives. Session and user IDs left empty are inherited from the caller's
// baggage when the request continues a remote run. A nil f describes
// nothing more than the name.
func WithRunInfo(f func(*http.Request) flowtrace.RunInfo) Option {
	return func(c *config) { c.runInfo = f }
}

// WithDeliveryWait makes the Middleware wait, after the handler returns
// and before net/http completes the response, until the run's records are
// delivered (EndTracers), for at most d. The wait first lets the run's
// holds (flowtrace's Hold) be released, and ignores the request's
// cancellation, so that a client hanging up does not cut the run's last
// records. It is for a handler whose work outlives it (a goroutine with a
// hold), or a test that reads an exporter as soon as the response is in;
// every request then waits for its exporters, so a slow one slows every
// response. A d of zero or less keeps the default, which waits for
// nothing.
func WithDeliveryWait(d time.Duration) Option {
	return func(c *config) { c.deliveryWait = d }
}

// WithEndTimeout is WithDeliveryWait under its former name. The
// Middleware used to wait for delivery by default, bounded by this
// timeout; it no longer waits unless asked to, and this option now asks.
//
// Deprecated: use WithDeliveryWait, which says what it does.
func WithEndTimeout(d time.Duration) Option { return WithDeliveryWait(d) }

// WithTrustRequest decides, per request, whether the Middleware continues
// the caller's run from the request's traceparent and baggage headers
// (f returns true) or starts a new trace ignoring them. The default trusts
// every request; a service reachable from outside may want to trust only
// its own callers, since the headers name the trace the run joins and may
// name the session and user the run is for. A nil f trusts every request.
func WithTrustRequest(f func(*http.Request) bool) Option {
	return func(c *config) { c.trust = f }
}

// WithIdentityBaggage makes the Transport and Inject send the run's
// session and user IDs in baggage (flowtrace.session.id, flowtrace.user.id)
// along with its run ID. They are left out by default: a transport also
// calls third parties (an LLM API, say), and those IDs may identify a
// person. Use it on a Transport that calls only your own services.
func WithIdentityBaggage() Option {
	return func(c *config) { c.identityBaggage = true }
}

// WithoutClientComponents makes the Transport record no client component
// for the requests it sends: each request then names the current span
// (the innermost component's, else the run's) as its parent, as Inject
// does. It is for a caller that records its calls itself (a base that is
// otelhttp.NewTransport, say, whose client spans would otherwise sit under
// flowtrace's), or a client whose requests are too many to record one by
// one.
func WithoutClientComponents() Option {
	return func(c *config) { c.noClientComponents = true }
}

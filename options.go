package flowtrace

import (
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/flowtrace/flowtrace/internal/pipeline"
	"github.com/flowtrace/flowtrace/internal/values"
)

// MaxExporters is the most exporters a TraceService delivers to at once.
const MaxExporters = 64

// MaxExporters is the pipeline's limit (a run tracks its exporters in a
// 64-bit mask): these fail to compile if the two part.
var (
	_ [MaxExporters - pipeline.MaxLanes]struct{}
	_ [pipeline.MaxLanes - MaxExporters]struct{}
)

// Defaults of the delivery pipeline.
const (
	// DefaultQueueSize is the capacity, in events, of each exporter's queue.
	// It holds a burst of 10,000 events from hundreds of concurrent runs even
	// if the exporter's worker is not scheduled during the burst, and costs
	// 64 bytes per slot, a cache line (1 MiB per exporter).
	DefaultQueueSize = 16384
	// MaxQueueSize is the largest queue WithQueueSize accepts: 1<<24
	// events, 1 GiB per exporter.
	MaxQueueSize = 1 << 24
	// DefaultExportTimeout bounds each call into an exporter.
	DefaultExportTimeout = 5 * time.Second
)

// Defaults of the limits on recorded values (see WithMaxDepth and the
// options after it). With them, the values of one event stay under 1 MiB.
const (
	DefaultMaxDepth      = values.DefaultMaxDepth  // nesting of maps, slices and structs
	DefaultMaxItems      = values.DefaultMaxItems  // entries kept of each map or slice
	DefaultMaxStringLen  = values.DefaultMaxString // bytes kept of each string (64 KiB)
	DefaultMaxEventBytes = values.DefaultMaxBytes  // JSON size of one event's values (512 KiB)
)

// Masked is what a masked value is replaced with.
const Masked = values.Masked

// Overflow is what happens to an event when an exporter's queue is full.
// The zero value is DropNewest.
type Overflow int64

// DropNewest drops the event that does not fit, never blocking the caller.
// It is the default: tracing must never change the behaviour of the
// workflow it traces, and a caller stuck behind a slow backend is the
// failure this library exists to prevent. Every drop is counted, and the
// first drop of each run is reported.
const DropNewest Overflow = 0

// BlockFor makes the caller wait up to d for room in the queue; if none
// appears, the event is dropped and counted. BlockFor(0) is DropNewest.
func BlockFor(d time.Duration) Overflow { return Overflow(d) }

// String returns "DropNewest" or "BlockFor(d)".
func (o Overflow) String() string {
	if o == DropNewest {
		return "DropNewest"
	}
	return fmt.Sprintf("BlockFor(%v)", time.Duration(o))
}

// Option configures a TraceService. A nil Option is ignored; an invalid one
// makes NewTraceService return an error wrapping ErrInvalidOption.
type Option func(*config)

type config struct {
	exporters     []Exporter
	onError       func(error)
	disabled      bool
	queueSize     int
	overflow      Overflow
	exportTimeout time.Duration
	sampler       Sampler
	values        values.Config
	errs          []error
}

func newConfig(opts []Option) config {
	c := config{queueSize: DefaultQueueSize, exportTimeout: DefaultExportTimeout, values: values.Config{SecretTypes: []reflect.Type{secretType}}}
	if v, ok := os.LookupEnv("FLOWTRACE_DISABLED"); ok {
		if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
			c.disabled = b
		}
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

func (c *config) invalid(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...))
}

// WithExporter adds an exporter. It may be given several times; names must
// be unique.
func WithExporter(e Exporter) Option {
	return func(c *config) { c.exporters = append(c.exporters, e) }
}

// WithErrorHandler sets the function that receives background failures:
// exporter errors and panics, dropped events, misuse. It is called without
// any lock held, possibly concurrently, and may call back into the service
// (end a run, even Shutdown). Failures found by the caller (a drop, a
// misuse) are reported on the caller's goroutine, after the call has left
// every scope; failures of exporters (errors, panics, abandoned calls) on a
// goroutine of the service's own, never on an exporter's delivery
// goroutine, and Shutdown waits until they have been handled. By default
// errors are logged through log/slog's default logger.
func WithErrorHandler(h func(error)) Option {
	return func(c *config) { c.onError = h }
}

// WithDisabled turns every call of the service into a no-op that allocates
// nothing. The environment variable FLOWTRACE_DISABLED=true does the same;
// this option, when given, takes precedence.
func WithDisabled(disabled bool) Option {
	return func(c *config) { c.disabled = disabled }
}

// WithSampler sets the Sampler that decides which top-level runs are
// recorded. The default, AlwaysSample, records every run. A nil sampler, or
// RatioSample with a ratio outside [0, 1], is invalid.
func WithSampler(s Sampler) Option {
	return func(c *config) {
		if s == nil {
			c.invalid("nil sampler")
			return
		}
		if v, ok := s.(interface{ validate() error }); ok {
			if err := v.validate(); err != nil {
				c.invalid("%v", err)
				return
			}
		}
		c.sampler = s
	}
}

// WithQueueSize sets the capacity, in events, of each exporter's queue
// (rounded up to a power of two, at least 2), at most MaxQueueSize. The
// default is DefaultQueueSize.
func WithQueueSize(n int) Option {
	return func(c *config) {
		if n <= 0 || n > MaxQueueSize {
			c.invalid("queue size %d, want 1 to MaxQueueSize (%d)", n, MaxQueueSize)
			return
		}
		c.queueSize = n
	}
}

// WithOverflow sets what happens when an exporter's queue is full. The
// default is DropNewest.
func WithOverflow(policy Overflow) Option {
	return func(c *config) {
		if policy < 0 {
			c.invalid("overflow %v, want DropNewest or BlockFor(d > 0)", time.Duration(policy))
			return
		}
		c.overflow = policy
	}
}

// WithExportTimeout bounds each call into an exporter. A call that runs
// longer is abandoned, between d and 1.25×d after it started (for d of more
// than a few microseconds; timers are not finer): its event and the
// exporter's later events fail, and are counted, until the call returns.
// No run is lost to it: once the call has returned, every run reaches the
// exporter again, whenever it started, with StartRun first (a run started
// meanwhile gets it then), its later events, and EndRun last, the run
// whose call was abandoned included. A run that ends while the call still
// runs is failed on that exporter, its end too.
// The call's ctx has a deadline at least d after its start. The default is DefaultExportTimeout;
// a timeout too large to be a deadline (math.MaxInt64) means calls are never
// abandoned.
func WithExportTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.invalid("export timeout %v, want > 0", d)
			return
		}
		c.exportTimeout = d
	}
}

// WithRedactKeys adds keys to the masked ones: a map key, field name or
// log name of which consecutive words, glued, spell one of them (ASCII case
// and separators ignored) has its value replaced by "*****":
// WithRedactKeys("session_id") masks "SessionID", "x-session-id" and
// "user_sessionid", not "session". See "What gets recorded" in the README.
func WithRedactKeys(keys ...string) Option {
	return func(c *config) {
		for _, k := range keys {
			if strings.TrimSpace(k) == "" {
				c.invalid("empty redact key")
				return
			}
		}
		c.values.RedactKeys = append(c.values.RedactKeys, keys...)
	}
}

// WithAllowKeys keeps keys that the default masking rules would mask: a
// key equal to one of them, ASCII case and separators ignored, is recorded
// in clear. It does not unmask keys given to WithRedactKeys, fields tagged
// `flowtrace:"secret"`, Secret values, nor what the run has already seen
// masked elsewhere. It may be given several times.
func WithAllowKeys(keys ...string) Option {
	return func(c *config) {
		for _, k := range keys {
			if strings.TrimSpace(k) == "" {
				c.invalid("empty allow key")
				return
			}
		}
		c.values.AllowKeys = append(c.values.AllowKeys, keys...)
	}
}

// WithRedactor sets a rule of the caller's own: it is asked about every
// value recorded, with the path of keys leading to it, and returns the
// replacement and true to mask it.
func WithRedactor(f func(path []string, v any) (any, bool)) Option {
	return func(c *config) { c.values.Redactor = f }
}

// WithMaxDepth bounds the nesting depth of a recorded value; what is nested
// deeper is replaced by "!max depth". The default is DefaultMaxDepth.
func WithMaxDepth(n int) Option {
	return func(c *config) { c.values.MaxDepth = positive(c, "max depth", n) }
}

// WithMaxItems bounds the entries kept of each map or slice; a marker
// entry says how many were cut. The default is DefaultMaxItems.
func WithMaxItems(n int) Option {
	return func(c *config) { c.values.MaxItems = positive(c, "max items", n) }
}

// WithMaxStringLen bounds the bytes kept of each string; a longer one is
// cut before it is copied and ends with "…(truncated 48.9 MiB)". The
// default is DefaultMaxStringLen.
func WithMaxStringLen(n int) Option {
	return func(c *config) { c.values.MaxString = positive(c, "max string length", n) }
}

// WithMaxEventBytes bounds the total size, as JSON, of the values recorded
// by one event. Identifiers (run, component, session and user IDs) are
// outside this budget and never cut. The default is DefaultMaxEventBytes.
func WithMaxEventBytes(n int) Option {
	return func(c *config) { c.values.MaxBytes = positive(c, "max event bytes", n) }
}

func positive(c *config, what string, n int) int {
	if n <= 0 {
		c.invalid("%s %d, want > 0", what, n)
		return 0
	}
	return n
}

package values

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Default limits, used for the fields of a Config left at zero.
const (
	// DefaultMaxDepth bounds the nesting of maps, slices, arrays and structs.
	DefaultMaxDepth = 32
	// DefaultMaxItems bounds the entries kept of each map, slice or array.
	DefaultMaxItems = 1000
	// DefaultMaxString bounds the bytes kept of each string (64 KiB).
	DefaultMaxString = 64 << 10
	// DefaultMaxBytes bounds the JSON size of the values of one event
	// (512 KiB), so that an event with its framing stays well under 1 MiB.
	DefaultMaxBytes = 512 << 10
	// MaxDepthLimit is the largest MaxDepth New accepts: deeper recursion
	// could exhaust the caller's stack.
	MaxDepthLimit = 10000
)

// DefaultRedactKeys are the key fragments masked by every Snapshotter.
// New copies them when the package is initialised: changing this slice has
// no effect.
var DefaultRedactKeys = []string{"api_key", "apikey", "password", "passwd", "secret", "token", "authorization", "cookie", "credential", "private_key"}

var defaultRedactKeys = slices.Clone(DefaultRedactKeys)

// ErrInvalidConfig is wrapped by the errors New returns for a Config it
// rejects.
var ErrInvalidConfig = errors.New("flowtrace: invalid value snapshot config")

// Config configures a Snapshotter. The zero Config is valid and means all
// defaults: a zero limit takes its default, a negative one is an error.
type Config struct {
	// RedactKeys are key fragments masked in addition to DefaultRedactKeys.
	// A key is masked when its name contains a fragment, ignoring the case
	// of ASCII letters and the separators "_" and "-". An empty or blank
	// fragment is an error.
	RedactKeys []string
	// Redactor, if not nil, is asked about every value not already masked,
	// with the path of map keys, field names and slice indices leading to
	// it. It returns a replacement and true to replace the value. It is
	// called on the caller's goroutine, concurrently for concurrent
	// snapshots, and must not retain path, which is reused.
	Redactor func(path []string, v any) (any, bool)
	// MaxDepth bounds the nesting of maps, slices, arrays and structs, and
	// the length of chains of pointers. Default DefaultMaxDepth; at most
	// MaxDepthLimit.
	MaxDepth int
	// MaxItems bounds the entries kept of each map, slice or array.
	// Default DefaultMaxItems.
	MaxItems int
	// MaxString bounds the bytes kept of each string and map key.
	// Default DefaultMaxString.
	MaxString int
	// MaxBytes bounds the approximate JSON size of all the values
	// snapshotted with one Budget. Default DefaultMaxBytes.
	MaxBytes int
}

// Snapshotter takes snapshots of caller values. It is immutable after New
// and safe for concurrent use; it caches what it learns about Go types.
// A nil *Snapshotter snapshots with the defaults of the zero Config.
type Snapshotter struct {
	keys     []string  // redact key fragments, folded by foldString
	first    [256]bool // reports whether a byte, folded, starts a fragment
	redactor func(path []string, v any) (any, bool)

	maxDepth, maxItems, maxString, maxBytes int

	types sync.Map // reflect.Type -> *typeInfo
}

var defaultSnapshotter = mustNew(Config{})

func mustNew(cfg Config) *Snapshotter {
	s, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return s
}

// New returns a Snapshotter for cfg, or an error wrapping ErrInvalidConfig
// for each invalid field.
func New(cfg Config) (*Snapshotter, error) {
	var errs []error
	limit := func(name string, n, def int) int {
		switch {
		case n < 0:
			errs = append(errs, fmt.Errorf("%w: %s %d, want >= 0", ErrInvalidConfig, name, n))
		case n == 0:
			return def
		}
		return n
	}
	s := &Snapshotter{
		redactor:  cfg.Redactor,
		maxDepth:  limit("MaxDepth", cfg.MaxDepth, DefaultMaxDepth),
		maxItems:  limit("MaxItems", cfg.MaxItems, DefaultMaxItems),
		maxString: limit("MaxString", cfg.MaxString, DefaultMaxString),
		maxBytes:  limit("MaxBytes", cfg.MaxBytes, DefaultMaxBytes),
	}
	if s.maxDepth > MaxDepthLimit {
		errs = append(errs, fmt.Errorf("%w: MaxDepth %d, want <= %d", ErrInvalidConfig, s.maxDepth, MaxDepthLimit))
	}
	for _, k := range cfg.RedactKeys {
		if foldString(strings.TrimSpace(k)) == "" {
			errs = append(errs, fmt.Errorf("%w: empty redact key %q", ErrInvalidConfig, k))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, k := range slices.Concat(defaultRedactKeys, cfg.RedactKeys) {
		k = foldString(k)
		if slices.Contains(s.keys, k) {
			continue
		}
		s.keys = append(s.keys, k)
		// Mark every byte that folds to the fragment's first byte.
		for c := range 256 {
			if !separator(byte(c)) && fold(byte(c)) == k[0] {
				s.first[c] = true
			}
		}
	}
	return s, nil
}

// NewBudget returns a fresh Budget for the values of one event.
func (s *Snapshotter) NewBudget() Budget { return Budget{} }

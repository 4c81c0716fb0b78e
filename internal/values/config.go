package values

import (
	"errors"
	"fmt"
	"reflect"
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

// ErrInvalidConfig is wrapped by the errors New returns for a Config it
// rejects.
var ErrInvalidConfig = errors.New("flowtrace: invalid value snapshot config")

// Config configures a Snapshotter. The zero Config is valid and means all
// defaults: a zero limit takes its default, a negative one is an error.
type Config struct {
	// RedactKeys are keys masked in addition to the default rules (see the
	// package documentation). A key is masked when consecutive words of it,
	// glued, spell a redact key with ASCII case and separators ignored:
	// "session_key" masks "X-Session-Key" and "SessionKey". A key without a
	// letter or digit is an error.
	RedactKeys []string
	// AllowKeys are keys kept although the default rules would mask them:
	// a key equal to one of them, ASCII case and separators ignored. They
	// do not unmask RedactKeys, fields tagged `flowtrace:"secret"` or
	// SecretTypes. A key without a letter or digit is an error.
	AllowKeys []string
	// SecretTypes are types whose values are always masked, wherever they
	// are, and remembered as secrets (see Budget.Found). A struct with a
	// field of such a type is walked field by field like one with a masked
	// field.
	SecretTypes []reflect.Type
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
	keys     []string // redact keys, folded by foldKey
	allow    []string // allowed keys, folded by foldKey
	secrets  []reflect.Type
	index    fragIndex // of the default fragments and keys
	redactor func(path []string, v any) (any, bool)

	maxDepth, maxItems, maxString, maxBytes int

	types sync.Map // reflect.Type -> *typeInfo
	cache *keyCache
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
		cache:     newKeyCache(),
	}
	if s.maxDepth > MaxDepthLimit {
		errs = append(errs, fmt.Errorf("%w: MaxDepth %d, want <= %d", ErrInvalidConfig, s.maxDepth, MaxDepthLimit))
	}
	folded := func(what string, keys []string) []string {
		var out []string
		for _, k := range keys {
			f := foldKey(strings.TrimSpace(k))
			if f == "" {
				errs = append(errs, fmt.Errorf("%w: empty %s key %q", ErrInvalidConfig, what, k))
				continue
			}
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
		return out
	}
	s.keys = folded("redact", cfg.RedactKeys)
	s.allow = folded("allow", cfg.AllowKeys)
	s.index = newFragIndex(defaultFragments, s.keys)
	for _, t := range cfg.SecretTypes {
		if t == nil {
			errs = append(errs, fmt.Errorf("%w: nil secret type", ErrInvalidConfig))
		} else if !slices.Contains(s.secrets, t) {
			s.secrets = append(s.secrets, t)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// NewBudget returns a fresh Budget for the values of one event.
func (s *Snapshotter) NewBudget() Budget { return Budget{} }

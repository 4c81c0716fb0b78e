package flowtrace

import (
	"fmt"
	"log/slog"
	"reflect"
)

// Secret is a string that is never recorded: its snapshot is Masked
// whatever key or field holds it, and its String, GoString, Format,
// MarshalJSON, MarshalText and LogValue methods print Masked too, so that
// it is also safe in fmt, encoding/json and log/slog. Its value is
// remembered by the run that recorded it, and masked wherever it appears
// later in that run (see "What gets recorded" in the README). Get the
// string back with a conversion, string(s), where it is needed.
//
// The zero value is the empty secret. A Secret is a string: safe to copy
// and to use concurrently.
type Secret string

var secretType = reflect.TypeFor[Secret]()

// String returns Masked.
func (Secret) String() string { return Masked }

// GoString returns Masked, for %#v.
func (Secret) GoString() string { return Masked }

// Format prints Masked for every verb and flag, %q quoting it.
func (Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", Masked)
		return
	}
	fmt.Fprint(f, Masked)
}

// MarshalJSON returns Masked as a JSON string.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Masked + `"`), nil }

// MarshalText returns Masked.
func (Secret) MarshalText() ([]byte, error) { return []byte(Masked), nil }

// LogValue returns Masked as a slog string value.
func (Secret) LogValue() slog.Value { return slog.StringValue(Masked) }

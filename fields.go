package flowtrace

import (
	"encoding/json"
	"fmt"
	"iter"
	"sort"
	"strings"

	"github.com/flowtrace/flowtrace/internal/values"
)

// Fields is the named values a record carries at its top level (inputs,
// metadata, outputs), ordered by name. Records hold Fields, not maps: a
// snapshot of a small map as Fields costs one allocation where a map costs
// two and several times the memory, and an exporter that writes them gets
// the same order on every run.
//
// Fields is immutable; its values are snapshots (see the package
// documentation), shared by every exporter of the run and never modified.
// The zero Fields is empty and stands for "none given" (a nil map): it
// marshals to JSON null, and Map returns nil. Fields of an empty map are
// empty too, but marshal to {}. Fields is safe for concurrent use.
type Fields struct {
	kv []values.KV
}

// FieldsOf returns Fields holding the entries of m, taken as they are (not
// snapshotted or masked: that is what TraceComponent and the other writes
// do). It is for exporters' tests, and for building records by hand. A
// nil m gives the zero Fields.
func FieldsOf(m map[string]any) Fields { return Fields{kv: values.KVsOf(m)} }

// Len returns the number of fields.
func (f Fields) Len() int { return len(f.kv) }

// IsNil reports whether f stands for no map at all, as opposed to an empty
// one.
func (f Fields) IsNil() bool { return f.kv == nil }

// Get returns the value named key, and whether there is one.
func (f Fields) Get(key string) (any, bool) {
	i := sort.Search(len(f.kv), func(i int) bool { return f.kv[i].Key >= key })
	if i < len(f.kv) && f.kv[i].Key == key {
		return f.kv[i].Value, true
	}
	return nil, false
}

// All returns the fields in order of name.
func (f Fields) All() iter.Seq2[string, any] {
	return func(yield func(string, any) bool) {
		for _, kv := range f.kv {
			if !yield(kv.Key, kv.Value) {
				return
			}
		}
	}
}

// Map returns the fields as a new map, nil for the zero Fields. The map is
// the caller's; the values in it are still shared snapshots, not to be
// modified.
func (f Fields) Map() map[string]any {
	if f.kv == nil {
		return nil
	}
	m := make(map[string]any, len(f.kv))
	for _, kv := range f.kv {
		m[kv.Key] = kv.Value
	}
	return m
}

// MarshalJSON writes the fields as a JSON object, in order of name, or
// null for the zero Fields.
func (f Fields) MarshalJSON() ([]byte, error) {
	if f.kv == nil {
		return []byte("null"), nil
	}
	b := make([]byte, 0, 16*len(f.kv)+2)
	b = append(b, '{')
	for i, kv := range f.kv {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := json.Marshal(kv.Key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(kv.Value)
		if err != nil {
			return nil, fmt.Errorf("flowtrace: field %q: %w", kv.Key, err)
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
}

// String formats the fields as fmt formats a map: map[k:v ...].
func (f Fields) String() string {
	var sb strings.Builder
	sb.WriteString("map[")
	for i, kv := range f.kv {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%s:%v", kv.Key, kv.Value)
	}
	sb.WriteByte(']')
	return sb.String()
}

// withKVs allocates a T together with room for n entries of Fields, in one
// allocation for the small maps most records carry: a record (or a part of
// one) and its inputs or outputs live and die together. T must hold
// nothing whose lifetime is not the record's: an exporter that keeps the
// Fields keeps the T. Beyond eight entries the
// entries get an allocation of their own (kv is nil).
func withKVs[T any](n int) (*T, []values.KV) {
	switch {
	case n == 0:
		return new(T), nil
	case n == 1:
		x := new(struct {
			v  T
			kv [1]values.KV
		})
		return &x.v, x.kv[:0]
	case n == 2:
		x := new(struct {
			v  T
			kv [2]values.KV
		})
		return &x.v, x.kv[:0]
	case n <= 4:
		x := new(struct {
			v  T
			kv [4]values.KV
		})
		return &x.v, x.kv[:0]
	case n <= 8:
		x := new(struct {
			v  T
			kv [8]values.KV
		})
		return &x.v, x.kv[:0]
	}
	return new(T), nil
}

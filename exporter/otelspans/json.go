package otelspans

import (
	"go.opentelemetry.io/otel/attribute"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/internal/jsontree"
)

// jsonBuf is the buffer a run's JSON attributes are encoded in, reused:
// a run's exporter is called serially, and the attribute takes a copy.
// (A buffer on the stack escaped to the heap through jsontree's recursion:
// one more allocation for each attribute.) A nil *jsonBuf encodes in a
// buffer of the call's own.
type jsonBuf struct{ b []byte }

func (j *jsonBuf) buf() []byte {
	if j == nil {
		return make([]byte, 0, 256)
	}
	return j.b[:0]
}

func (j *jsonBuf) keep(b []byte) {
	if j != nil && cap(b) <= maxKeptJSON {
		j.b = b
	}
}

// maxKeptJSON bounds the buffer a run keeps between attributes, so that
// one large value does not stay allocated for the rest of the run.
const maxKeptJSON = 64 << 10

// value encodes a recorded value (a JSON-safe tree: flowtrace's snapshot
// guarantees it) as JSON, keys sorted, HTML characters kept as they are
// so that prompts read as they were written.
func (j *jsonBuf) value(v any) string {
	b := jsontree.Append(j.buf(), v)
	s := string(b)
	j.keep(b)
	return s
}

// fields encodes f as a JSON object, keys in order, like value encodes a
// map.
func (j *jsonBuf) fields(f flowtrace.Fields) string {
	b := append(j.buf(), '{')
	for k, v := range f.All() {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = jsontree.AppendString(b, k)
		b = append(b, ':')
		b = jsontree.Append(b, v)
	}
	b = append(b, '}')
	s := string(b)
	j.keep(b)
	return s
}

// appendJSON is jsonBuf.appendJSON in a buffer of its own.
func appendJSON(attrs []attribute.KeyValue, key string, v any) []attribute.KeyValue {
	return (*jsonBuf)(nil).appendJSON(attrs, key, v)
}

// appendFields is jsonBuf.appendFields in a buffer of its own.
func appendFields(attrs []attribute.KeyValue, key string, f flowtrace.Fields) []attribute.KeyValue {
	return (*jsonBuf)(nil).appendFields(attrs, key, f)
}

// jsonString is value in a buffer of its own.
func jsonString(v any) string { return (*jsonBuf)(nil).value(v) }

// fieldsJSON is fields in a buffer of its own.
func fieldsJSON(f flowtrace.Fields) string { return (*jsonBuf)(nil).fields(f) }

// appendJSON appends key with v as JSON, unless v is an empty map or nil.
func (j *jsonBuf) appendJSON(attrs []attribute.KeyValue, key string, v any) []attribute.KeyValue {
	switch m := v.(type) {
	case nil:
		return attrs
	case map[string]any:
		if len(m) == 0 {
			return attrs
		}
	}
	return append(attrs, attribute.String(key, j.value(v)))
}

// appendFields appends key with f as a JSON object, unless f is empty.
func (j *jsonBuf) appendFields(attrs []attribute.KeyValue, key string, f flowtrace.Fields) []attribute.KeyValue {
	if f.Len() == 0 {
		return attrs
	}
	return append(attrs, attribute.String(key, j.fields(f)))
}

// outputs accumulates a span's outputs. Most components set them once:
// those Fields are kept as they are, and a map is made only when a second
// set has to be merged in, later keys winning. The zero value is empty.
type outputs struct {
	one    flowtrace.Fields
	merged map[string]any
}

func (o *outputs) add(f flowtrace.Fields) {
	switch {
	case f.Len() == 0:
	case o.merged != nil:
		o.merged = merge(o.merged, f)
	case o.one.Len() == 0:
		o.one = f
	default:
		o.merged = merge(merge(nil, o.one), f)
		o.one = flowtrace.Fields{}
	}
}

// json returns the outputs as a JSON object, or "" when there are none.
func (o *outputs) json() string { return o.jsonIn(nil) }

// jsonIn is json encoded in j.
func (o *outputs) jsonIn(j *jsonBuf) string {
	switch {
	case o.merged != nil:
		return j.value(o.merged)
	case o.one.Len() > 0:
		return j.fields(o.one)
	}
	return ""
}

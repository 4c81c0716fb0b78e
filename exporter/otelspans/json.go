package otelspans

import (
	"go.opentelemetry.io/otel/attribute"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/internal/jsontree"
)

// jsonString encodes a recorded value (a JSON-safe tree: flowtrace's
// snapshot guarantees it) as JSON, keys sorted, HTML characters kept as
// they are so that prompts read as they were written.
func jsonString(v any) string {
	var small [256]byte
	return string(jsontree.Append(small[:0], v))
}

// appendJSON appends key with v as JSON, unless v is an empty map or nil.
func appendJSON(attrs []attribute.KeyValue, key string, v any) []attribute.KeyValue {
	switch m := v.(type) {
	case nil:
		return attrs
	case map[string]any:
		if len(m) == 0 {
			return attrs
		}
	}
	return append(attrs, attribute.String(key, jsonString(v)))
}

// appendFields appends key with f as a JSON object, unless f is empty.
func appendFields(attrs []attribute.KeyValue, key string, f flowtrace.Fields) []attribute.KeyValue {
	if f.Len() == 0 {
		return attrs
	}
	return append(attrs, attribute.String(key, fieldsJSON(f)))
}

// fieldsJSON encodes f as a JSON object, keys in order, like jsonString
// encodes a map.
func fieldsJSON(f flowtrace.Fields) string {
	var small [256]byte
	b := append(small[:0], '{')
	for k, v := range f.All() {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = jsontree.AppendString(b, k)
		b = append(b, ':')
		b = jsontree.Append(b, v)
	}
	b = append(b, '}')
	return string(b)
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
func (o *outputs) json() string {
	switch {
	case o.merged != nil:
		return jsonString(o.merged)
	case o.one.Len() > 0:
		return fieldsJSON(o.one)
	}
	return ""
}

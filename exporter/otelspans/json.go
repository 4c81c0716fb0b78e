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
	return append(attrs, attribute.String(key, string(b)))
}

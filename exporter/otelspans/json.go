package otelspans

import (
	"go.opentelemetry.io/otel/attribute"

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

package otelspans

import (
	"bytes"
	"encoding/json"
	"sync"

	"go.opentelemetry.io/otel/attribute"
)

var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// jsonString encodes a recorded value (a JSON-safe tree: flowtrace's
// snapshot guarantees it) as JSON, without escaping HTML characters so
// that prompts read as they were written.
func jsonString(v any) string {
	b := bufs.Get().(*bytes.Buffer)
	defer func() { b.Reset(); bufs.Put(b) }()
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return `"!unencodable: ` + err.Error() + `"`
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte{'\n'}))
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

// Package jsonvalue decodes raw JSON from an API's request or answer into
// a value to record, for the SDK adapters (contrib/ftopenai,
// contrib/ftanthropic): numbers keep their kind, where encoding/json
// would make every one a float64.
package jsonvalue

import (
	"bytes"
	"encoding/json"
)

// Decode returns raw as a value to record: objects as map[string]any,
// arrays as []any, integers as int64, other numbers as float64, null (or
// invalid JSON) as nil.
func Decode(raw json.RawMessage) any {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil
	}
	return numbers(v)
}

func numbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	case map[string]any:
		for k, e := range v {
			v[k] = numbers(e)
		}
	case []any:
		for i, e := range v {
			v[i] = numbers(e)
		}
	}
	return v
}

// Package jsontree encodes the JSON-safe trees flowtrace records hold —
// map[string]any, []any, string, bool, int64, uint64, float64 and nil —
// without reflection, keys sorted as encoding/json sorts them, and HTML
// characters left as they are. Anything else falls back to encoding/json.
package jsontree

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// MaxDepth bounds the nesting Append follows; deeper values (and a
// hand-built tree that contains itself) are written as "!max depth".
const MaxDepth = 1000

// Append appends v as JSON to dst. A value encoding/json cannot encode (a
// hand-built record holding a channel, say) is written as a string marker,
// so the output is always valid JSON.
func Append(dst []byte, v any) []byte { return appendValue(dst, v, 0) }

func appendValue(dst []byte, v any, depth int) []byte {
	if depth > MaxDepth {
		return append(dst, `"!max depth"`...)
	}
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case string:
		return AppendString(dst, x)
	case bool:
		return strconv.AppendBool(dst, x)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case int:
		return strconv.AppendInt(dst, int64(x), 10)
	case uint64:
		return strconv.AppendUint(dst, x, 10)
	case float64:
		return appendFloat(dst, x)
	case map[string]any:
		return appendMap(dst, x, depth)
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendValue(dst, e, depth+1)
		}
		return append(dst, ']')
	}
	return appendReflect(dst, v)
}

func appendMap(dst []byte, m map[string]any, depth int) []byte {
	var small [16]string
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, k)
		dst = append(dst, ':')
		dst = appendValue(dst, m[k], depth+1)
	}
	return append(dst, '}')
}

// appendFloat formats as encoding/json does; NaN and infinities, which
// JSON cannot hold, become the strings flowtrace's snapshot uses.
func appendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"+Inf"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Inf"`...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' { // e-09 → e-9, as encoding/json writes it
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

func appendReflect(dst []byte, v any) (out []byte) {
	defer func() {
		if r := recover(); r != nil { // a MarshalJSON method that panics
			out = AppendString(dst, "!unencodable: panic")
		}
	}()
	b, err := json.Marshal(v)
	if err != nil {
		return AppendString(dst, "!unencodable: "+err.Error())
	}
	return append(dst, b...)
}

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as with encoding/json; U+2028 and U+2029 are escaped; HTML characters
// are kept as they are.
func AppendString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

package jsonl

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/flowtrace/flowtrace"
)

// timeLayout is RFC 3339 with exactly nine fractional digits; times are
// converted to UTC first, so the zone is always "Z".
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// maxPooled bounds the buffers kept for reuse, so one huge event does not
// pin its memory for ever.
const maxPooled = 64 << 10

// buffer holds one line being encoded.
type buffer struct {
	bytes.Buffer
	enc *json.Encoder // writes into the buffer
}

var pool = sync.Pool{New: func() any {
	b := new(buffer)
	b.enc = json.NewEncoder(&b.Buffer)
	// Lines are data, not HTML: keep <, > and & readable.
	b.enc.SetEscapeHTML(false)
	return b
}}

// begin starts a line with the common fields.
func begin(event string, t time.Time, runID, componentID string) *buffer {
	b := pool.Get().(*buffer)
	b.WriteString(`{"event":"`)
	b.WriteString(event) // a constant of this package: nothing to escape
	b.WriteString(`","time":"`)
	b.Write(t.UTC().AppendFormat(b.AvailableBuffer(), timeLayout))
	b.WriteString(`","run_id":`)
	b.quote(runID)
	b.str("component_id", componentID)
	return b
}

// end closes the line and returns it; it is valid until free.
func (b *buffer) end() []byte {
	b.WriteString("}\n")
	return b.Bytes()
}

func (b *buffer) free() {
	if b.Cap() > maxPooled {
		return
	}
	b.Reset()
	pool.Put(b)
}

// key writes the separator and the key of a field. Keys are constants of
// this package: nothing to escape.
func (b *buffer) key(k string) {
	b.WriteString(`,"`)
	b.WriteString(k)
	b.WriteString(`":`)
}

// str writes a string field, omitted when empty.
func (b *buffer) str(k, v string) {
	if v == "" {
		return
	}
	b.key(k)
	b.quote(v)
}

// flag writes a bool field that is true, omitted when false.
func (b *buffer) flag(k string, v bool) {
	if v {
		b.key(k)
		b.WriteString("true")
	}
}

// err writes an error's text, omitted when err is nil.
func (b *buffer) err(k string, err error) {
	if err == nil {
		return
	}
	b.key(k)
	b.quote(err.Error())
}

// hex writes id as a string of lowercase hexadecimal digits.
func (b *buffer) hex(k string, id []byte) {
	b.key(k)
	b.WriteByte('"')
	b.Write(hex.AppendEncode(b.AvailableBuffer(), id))
	b.WriteByte('"')
}

// spanID writes a span ID as hex, omitted when zero.
func (b *buffer) spanID(k string, id [8]byte) {
	if id != ([8]byte{}) {
		b.hex(k, id[:])
	}
}

// messages writes chat messages as an array of objects, omitted when
// there are none.
func (b *buffer) messages(k string, ms []flowtrace.Message) {
	if len(ms) == 0 {
		return
	}
	b.key(k)
	b.WriteByte('[')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"role":`)
		b.quote(m.Role)
		b.WriteString(`,"content":`)
		b.quote(m.Content)
		b.str("name", m.Name)
		b.str("tool_call_id", m.ToolCallID)
		if len(m.ToolCalls) > 0 {
			b.WriteString(`,"tool_calls":[`)
			for j, tc := range m.ToolCalls {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteString(`{"id":`)
				b.quote(tc.ID)
				b.WriteString(`,"name":`)
				b.quote(tc.Name)
				b.WriteString(`,"arguments":`)
				b.quote(tc.Arguments)
				b.WriteByte('}')
			}
			b.WriteByte(']')
		}
		b.WriteByte('}')
	}
	b.WriteByte(']')
}

// mapObject writes a map field; with omitEmpty, a map without keys is
// omitted, otherwise it is written as {}.
func (b *buffer) mapObject(k string, m map[string]any, omitEmpty bool) {
	if len(m) == 0 {
		if !omitEmpty {
			b.key(k)
			b.WriteString("{}")
		}
		return
	}
	b.key(k)
	b.encode(m)
}

// object writes a Fields field; with omitEmpty, a map without keys is omitted,
// otherwise it is written as {}.
func (b *buffer) object(k string, f flowtrace.Fields, omitEmpty bool) {
	if f.Len() == 0 {
		if !omitEmpty {
			b.key(k)
			b.WriteString("{}")
		}
		return
	}
	b.key(k)
	b.WriteByte('{')
	first := true
	for name, v := range f.All() {
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.quote(name)
		b.WriteByte(':')
		b.encode(v)
	}
	b.WriteByte('}')
}

// value writes a field of any value, null for nil.
func (b *buffer) value(k string, v any) {
	b.key(k)
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		b.quote(x)
	case bool:
		b.Write(strconv.AppendBool(b.AvailableBuffer(), x))
	case int64:
		b.Write(strconv.AppendInt(b.AvailableBuffer(), x, 10))
	case int:
		b.Write(strconv.AppendInt(b.AvailableBuffer(), int64(x), 10))
	default:
		b.encode(v)
	}
}

// encode writes v as JSON, or, if encoding/json cannot encode it, a string
// marker saying why. Either way the line stays valid JSON.
func (b *buffer) encode(v any) {
	mark := b.Len()
	if err := b.tryEncode(v); err != nil {
		b.Truncate(mark)
		b.quote("!jsonl: cannot encode: " + err.Error())
		return
	}
	b.Truncate(b.Len() - 1) // the newline Encode adds
}

func (b *buffer) tryEncode(v any) (err error) {
	// A MarshalJSON method of a hand-built value may panic; the line is
	// still written, with a marker.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return b.enc.Encode(v)
}

// quote writes s as a JSON string. Invalid UTF-8 becomes U+FFFD, as with
// encoding/json; U+2028 and U+2029 are escaped so a line is also valid
// JavaScript; HTML characters are kept as they are.
func (b *buffer) quote(s string) {
	const hexDigits = "0123456789abcdef"
	b.WriteByte('"')
	start := 0 // s[start:i] is pending, needing no escape
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				b.WriteString(`\u00`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(s[start:i])
			b.WriteString(`\ufffd`)
		case r == '\u2028' || r == '\u2029':
			b.WriteString(s[start:i])
			b.WriteString(`\u202`)
			b.WriteByte(hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}

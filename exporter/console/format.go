package console

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// maxValue is the width of a rendered value, in runes, "…" included.
	maxValue = 60
	// maxText is the width of a name or an error message.
	maxText = 100
	// idHead and idTail are the runes kept of a shortened ID.
	idHead, idTail = 8, 4
)

// text returns s on one line (control characters become spaces) cut to
// maxText runes, or empty if s is empty.
func text(s, empty string) string {
	if s == "" {
		return empty
	}
	var b limited
	b.limit = maxText
	for _, r := range s {
		if unicode.IsControl(r) {
			r = ' '
		}
		if !b.writeRune(r) {
			break
		}
	}
	return b.String()
}

// shortID returns id on one line, its middle replaced by "…" if it is
// longer than idHead+idTail+2 runes.
func shortID(id string) string {
	if id == "" {
		return `""`
	}
	id = text(id, "")
	if n := utf8.RuneCountInString(id); n > idHead+idTail+2 {
		r := []rune(id)
		return string(r[:idHead]) + "…" + string(r[n-idTail:])
	}
	return id
}

// compact renders v on one line, JSON-ish, cut to maxValue runes.
func compact(v any) string {
	var b limited
	b.limit = maxValue
	b.value(v)
	return b.String()
}

// limited is a strings.Builder that keeps at most limit runes; past that it
// is full, and String ends it with "…" (within the limit). Writing into a
// full one does nothing, so rendering a huge or cyclic value stops early.
type limited struct {
	strings.Builder
	limit, n int
	full     bool
}

// writeRune writes r and reports whether there was room for it.
func (b *limited) writeRune(r rune) bool {
	if b.full {
		return false
	}
	if b.n == b.limit {
		b.full = true
		return false
	}
	b.n++
	b.Builder.WriteRune(r)
	return true
}

func (b *limited) write(s string) {
	for _, r := range s {
		if !b.writeRune(r) {
			return
		}
	}
}

// String returns what was written, its last rune replaced by "…" if more
// was written than fits.
func (b *limited) String() string {
	s := b.Builder.String()
	if !b.full {
		return s
	}
	_, size := utf8.DecodeLastRuneInString(s)
	return s[:len(s)-size] + "…"
}

func (b *limited) value(v any) {
	if b.full {
		return
	}
	switch x := v.(type) {
	case nil:
		b.write("null")
	case string:
		// Quote no more of the string than can be shown.
		if len(x) > 4*b.limit {
			x = x[:4*b.limit]
		}
		b.write(strconv.Quote(x))
	case bool:
		b.write(strconv.FormatBool(x))
	case int64:
		b.write(strconv.FormatInt(x, 10))
	case int:
		b.write(strconv.Itoa(x))
	case float64:
		b.write(strconv.FormatFloat(x, 'g', -1, 64))
	case map[string]any:
		b.write("{")
		for i, k := range slices.Sorted(maps.Keys(x)) {
			if i > 0 {
				b.write(", ")
			}
			b.key(k)
			b.value(x[k])
			if b.full {
				return
			}
		}
		b.write("}")
	case []any:
		b.write("[")
		for i, e := range x {
			if i > 0 {
				b.write(", ")
			}
			b.value(e)
			if b.full {
				return
			}
		}
		b.write("]")
	case error:
		b.write(strconv.Quote(x.Error()))
	default:
		b.reflect(reflect.ValueOf(v))
	}
}

// key writes a map key and ": ", quoted unless it is a plain word.
func (b *limited) key(k string) {
	plain := k != ""
	for _, r := range k {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '-' && r != '.' {
			plain = false
			break
		}
	}
	if plain {
		b.write(k)
	} else {
		b.write(strconv.Quote(k))
	}
	b.write(": ")
}

// reflect renders the maps and slices of other types than those of a
// snapshot, and falls back to fmt for the rest.
func (b *limited) reflect(v reflect.Value) {
	switch v.Kind() {
	case reflect.Map:
		keys := v.MapKeys()
		names := make([]string, len(keys))
		for i, k := range keys {
			names[i] = fmt.Sprint(k.Interface())
		}
		order := make([]int, len(keys))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(i, j int) int { return strings.Compare(names[i], names[j]) })
		b.write("{")
		for n, i := range order {
			if n > 0 {
				b.write(", ")
			}
			b.key(names[i])
			b.value(v.MapIndex(keys[i]).Interface())
			if b.full {
				return
			}
		}
		b.write("}")
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			b.write(strconv.Quote(string(v.Bytes())))
			return
		}
		b.write("[")
		for i := range v.Len() {
			if i > 0 {
				b.write(", ")
			}
			b.value(v.Index(i).Interface())
			if b.full {
				return
			}
		}
		b.write("]")
	default:
		s := fmt.Sprint(v.Interface())
		if len(s) > 4*b.limit {
			s = s[:4*b.limit]
		}
		for _, r := range s {
			if unicode.IsControl(r) {
				r = ' '
			}
			if !b.writeRune(r) {
				return
			}
		}
	}
}

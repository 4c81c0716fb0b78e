package values

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"
)

// conv is a conversion by method or by type, in order of precedence.
type conv uint8

const (
	convNone conv = iota
	convSecret
	convValuer
	convURL
	convUserinfo
	convTime
	convDuration
	convMarshaler
	convError
	convStringer
)

// Valuer is implemented by a type that is recorded as what TraceValue
// returns, then masked and limited like any value.
type Valuer interface{ TraceValue() any }

var (
	typeValuer    = reflect.TypeFor[Valuer]()
	typeURL       = reflect.TypeFor[url.URL]()
	typeUserinfo  = reflect.TypeFor[url.Userinfo]()
	typeTime      = reflect.TypeFor[time.Time]()
	typeDuration  = reflect.TypeFor[time.Duration]()
	typeMarshaler = reflect.TypeFor[json.Marshaler]()
	typeError     = reflect.TypeFor[error]()
	typeStringer  = reflect.TypeFor[fmt.Stringer]()
)

// typeInfo is what a Snapshotter caches about a Go type.
type typeInfo struct {
	conv conv // for values of the type
	// addrConv is the conversion of a pointer to the type, used for
	// addressable values when it takes precedence over conv.
	addrConv conv
	fields   []field // of a struct type
	// secret reports a type whose values may hold a masked field (by tag
	// or name) or a value of a secret type, at any depth its type shows.
	// Its values are walked field by field, never converted by their
	// String, Error or MarshalJSON, which would print the masked fields.
	secret bool
}

// field is a struct field snapshotted as a map entry.
type field struct {
	name   string // the entry's key
	size   int    // JSON size of the key, with quotes, colon and comma
	index  []int  // for embedded structs, a path through them
	masked bool
}

func (s *Snapshotter) info(t reflect.Type) *typeInfo {
	if ti, ok := s.types.Load(t); ok {
		return ti.(*typeInfo)
	}
	ti := &typeInfo{conv: s.convOf(t)}
	if t.Kind() != reflect.Pointer {
		ti.addrConv = s.convOf(reflect.PointerTo(t))
	}
	if t.Kind() == reflect.Struct {
		ti.fields = s.fields(t)
	}
	ti.secret = s.hides(t, map[reflect.Type]bool{})
	if ti.secret {
		ti.conv, ti.addrConv = printless(ti.conv), printless(ti.addrConv)
	}
	actual, _ := s.types.LoadOrStore(t, ti)
	return actual.(*typeInfo)
}

// printless drops a conversion by a method that prints the value.
func printless(c conv) conv {
	if c >= convMarshaler {
		return convNone
	}
	return c
}

// hides reports whether a value of type t can hold, without going
// through an interface, a masked field or a value of a secret type.
func (s *Snapshotter) hides(t reflect.Type, seen map[reflect.Type]bool) bool {
	if slices.Contains(s.secrets, t) {
		return true
	}
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return s.hides(t.Elem(), seen)
	case reflect.Map:
		return s.hides(t.Key(), seen) || s.hides(t.Elem(), seen)
	case reflect.Struct:
		if t == typeURL {
			return false // recorded by convURL, its user info masked
		}
		for _, f := range s.fields(t) {
			if f.masked || s.hides(t.FieldByIndex(f.index).Type, seen) {
				return true
			}
		}
	}
	return false
}

// methodConv returns the conversion of highest precedence that applies to
// values of type t.
func (s *Snapshotter) methodConv(t reflect.Type) conv {
	switch {
	case slices.Contains(s.secrets, t):
		return convSecret
	case t.Implements(typeValuer):
		return convValuer
	case t == typeURL:
		return convURL
	case t == typeUserinfo:
		return convUserinfo
	case t == typeTime:
		return convTime
	case t == typeDuration:
		return convDuration
	case t.Implements(typeMarshaler):
		return convMarshaler
	case t.Implements(typeError):
		return convError
	case t.Implements(typeStringer):
		return convStringer
	}
	return convNone
}

// convOf is methodConv, except that a pointer whose element has a
// conversion of equal or higher precedence is followed first: the methods
// of T apply to *T too, and a T must be snapshotted the same however it is
// reached.
func (s *Snapshotter) convOf(t reflect.Type) conv {
	c := s.methodConv(t)
	if t.Kind() == reflect.Pointer && c != convNone {
		if e := s.methodConv(t.Elem()); e != convNone && e <= c {
			return convNone
		}
	}
	return c
}

// fields lists the fields of struct type t the way encoding/json does,
// simplified: exported fields under their json name; fields of embedded
// structs without a json name promoted, a shallower field hiding deeper
// ones of the same name and, at equal depth, the first one winning.
func (s *Snapshotter) fields(t reflect.Type) []field {
	type level struct {
		t      reflect.Type
		index  []int
		masked bool
	}
	var out []field
	taken := map[string]bool{}
	seen := map[reflect.Type]bool{}
	next := []level{{t: t}}
	for len(next) > 0 {
		current := next
		next = nil
		for _, l := range current {
			if seen[l.t] {
				continue
			}
			seen[l.t] = true
			for i := range l.t.NumField() {
				sf := l.t.Field(i)
				secret, skip := flowtraceTag(sf.Tag.Get("flowtrace"))
				jsonTag := sf.Tag.Get("json")
				if skip || jsonTag == "-" { // as encoding/json: `json:"-,"` names a field "-"
					continue
				}
				jsonName, _, _ := strings.Cut(jsonTag, ",")
				index := append(l.index[:len(l.index):len(l.index)], i)
				if sf.Anonymous && jsonName == "" {
					ft := sf.Type
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if ft.Kind() == reflect.Struct {
						next = append(next, level{t: ft, index: index, masked: l.masked || secret})
						continue
					}
				}
				if !sf.IsExported() {
					continue
				}
				name := jsonName
				if name == "" {
					name = sf.Name
				}
				if taken[name] {
					continue
				}
				taken[name] = true
				f := field{
					name:   strings.ToValidUTF8(name, "\uFFFD"),
					index:  index,
					masked: l.masked || secret || s.masked(name) || s.masked(sf.Name),
				}
				_, size, _, _ := measure(f.name, maxInt, maxInt)
				f.size = size + 4
				out = append(out, f)
			}
		}
	}
	return out
}

// flowtraceTag parses a `flowtrace:"secret"` or `flowtrace:"-"` tag.
func flowtraceTag(tag string) (secret, skip bool) {
	for opt := range strings.SplitSeq(tag, ",") {
		switch strings.TrimSpace(opt) {
		case "secret":
			secret = true
		case "-":
			skip = true
		}
	}
	return secret, skip
}

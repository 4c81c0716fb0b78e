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
	// dyn reports a type whose values can hold an interface: whether they
	// hold a value of a secret type is known only by looking (see holds).
	dyn bool
	// opaqueErr reports an error struct type that hides a secret and has
	// no exported field: walked, it would record nothing, so its message
	// is recorded with what it hides masked (see opaqueError).
	opaqueErr bool
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
	ti.dyn = !ti.secret && reachesInterface(t, map[reflect.Type]bool{})
	ti.opaqueErr = ti.secret && t.Kind() == reflect.Struct && len(ti.fields) == 0 &&
		(t.Implements(typeError) || reflect.PointerTo(t).Implements(typeError))
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
// through an interface, a field masked by its tag or name (exported or
// not: fmt prints both) or a value of a secret type.
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
		if t == typeURL || t == typeUserinfo {
			return false // recorded by convURL and convUserinfo, masked
		}
		// Every field, unexported ones too: fmt prints them.
		for i := range t.NumField() {
			sf := t.Field(i)
			if secret, _ := flowtraceTag(sf.Tag.Get("flowtrace")); secret {
				return true
			}
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if s.masked(sf.Name) || (name != "" && name != "-" && s.masked(name)) || s.hides(sf.Type, seen) {
				return true
			}
		}
	}
	return false
}

// reachesInterface reports whether a value of type t can hold an
// interface value, in any field, element or pointee.
func reachesInterface(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return reachesInterface(t.Elem(), seen)
	case reflect.Map:
		return reachesInterface(t.Key(), seen) || reachesInterface(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if reachesInterface(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}

// maxProbe bounds the values holds looks at: past it, a value is assumed
// to hold no secret, so that a large value is not walked twice.
const maxProbe = 1024

// holds reports whether rv holds, behind an interface, a value whose type
// hides a masked field or is a secret type. It reads unexported fields
// too, as fmt would print them, and calls no method.
func (s *Snapshotter) holds(rv reflect.Value, depth int, n *int) bool {
	if *n >= maxProbe || depth > s.maxDepth {
		return false
	}
	*n++
	switch rv.Kind() {
	case reflect.Interface:
		if rv.IsNil() {
			return false
		}
		e := rv.Elem()
		ti := s.info(e.Type())
		return ti.secret || (ti.dyn && s.holds(e, depth+1, n))
	case reflect.Pointer:
		return !rv.IsNil() && s.info(rv.Type().Elem()).dyn && s.holds(rv.Elem(), depth+1, n)
	case reflect.Struct:
		for i := range rv.NumField() {
			if f := rv.Field(i); s.info(f.Type()).dyn && s.holds(f, depth+1, n) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() || !s.info(rv.Type().Elem()).dyn {
			return false
		}
		for i := range min(rv.Len(), maxProbe) {
			if s.holds(rv.Index(i), depth+1, n) {
				return true
			}
		}
	case reflect.Map:
		if rv.IsNil() {
			return false
		}
		iter := rv.MapRange()
		for iter.Next() {
			if s.holds(iter.Key(), depth+1, n) || s.holds(iter.Value(), depth+1, n) {
				return true
			}
			if *n >= maxProbe {
				return false
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

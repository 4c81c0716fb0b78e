package values

import (
	"fmt"
	"reflect"
	"strconv"
)

// reflect snapshots a value of a type without a fast path. Pointers and
// interfaces are followed in a loop, each pointer kept open against cycles
// until the value below it is done.
func (w *walker) reflect(rv reflect.Value) any {
	pushed := 0
	var out any
	for {
		switch rv.Kind() {
		case reflect.Interface:
			if rv.IsNil() {
				out = w.scalar(nil, 4)
			} else if rv.CanInterface() {
				out = w.value(rv.Interface())
			} else {
				rv = rv.Elem()
				continue
			}
		case reflect.Pointer:
			if rv.IsNil() {
				out = w.scalar(nil, 4)
				break
			}
			if ti := w.s.info(rv.Type()); ti.conv != convNone && rv.CanInterface() && !w.hidden(rv, ti.conv) {
				out = w.convert(rv, ti.conv)
				break
			}
			r := ref{p: rv.UnsafePointer(), t: rv.Type()}
			if w.hops >= w.s.maxDepth {
				out = w.marker(MarkerDepth)
				break
			}
			if w.open(r) {
				out = w.marker(MarkerCycle)
				break
			}
			w.push(r)
			w.hops++
			pushed++
			rv = rv.Elem()
			continue
		default:
			out = w.concrete(rv)
		}
		break
	}
	for range pushed {
		w.pop()
		w.hops--
	}
	return out
}

// reflectHook, when set by a test, is called on every value concrete
// snapshots, to stand for a bug of this package.
var reflectHook func(reflect.Value)

// concrete snapshots a value that is neither a pointer nor an interface.
func (w *walker) concrete(rv reflect.Value) any {
	if reflectHook != nil {
		reflectHook(rv)
	}
	t := rv.Type()
	var ti *typeInfo
	if t.Name() != "" || t.Kind() == reflect.Struct {
		ti = w.s.info(t)
		if ti.addrConv != convNone && rv.CanAddr() && rv.CanInterface() {
			if !w.hidden(rv, ti.addrConv) {
				return w.convert(rv.Addr(), ti.addrConv)
			}
		} else if ti.conv != convNone && rv.CanInterface() && !w.hidden(rv, ti.conv) {
			return w.convert(rv, ti.conv)
		}
	}
	if ti != nil && ti.opaqueErr && rv.CanInterface() {
		return w.strValue(w.opaqueError(rv))
	}
	switch rv.Kind() {
	case reflect.Bool:
		return w.scalar(rv.Bool(), 5)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return w.int(rv.Int(), nil)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return w.uint(rv.Uint(), nil)
	case reflect.Float32, reflect.Float64:
		return w.float(rv.Float(), nil)
	case reflect.Complex64, reflect.Complex128:
		bits := 128
		if rv.Kind() == reflect.Complex64 {
			bits = 64
		}
		return w.strValue(strconv.FormatComplex(rv.Complex(), 'g', -1, bits))
	case reflect.String:
		return w.strValue(rv.String())
	case reflect.Slice:
		if rv.IsNil() {
			return w.scalar(nil, 4)
		}
		if t.Elem().Kind() == reflect.Uint8 {
			return w.bytes(rv, "[]byte")
		}
		return w.list(rv, ref{p: rv.UnsafePointer(), n: rv.Len(), t: t})
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return w.bytes(rv, "["+strconv.Itoa(rv.Len())+"]byte")
		}
		return w.list(rv, ref{})
	case reflect.Map:
		if rv.IsNil() {
			return w.scalar(nil, 4)
		}
		return w.mapValue(rv)
	case reflect.Struct:
		return w.structValue(rv, ti)
	case reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return w.strValue("!" + t.String())
	}
	return w.scalar(nil, 4) // reflect.Invalid
}

// hidden reports whether rv, about to be converted by c, holds behind an
// interface a value that hides a secret: then the method that would print
// it is not called, and rv is walked instead. Errors are left to
// errorText, which masks what the errors they wrap would print.
func (w *walker) hidden(rv reflect.Value, c conv) bool {
	if c != convMarshaler && c != convStringer {
		return false
	}
	if !w.s.info(rv.Type()).dyn {
		return false
	}
	n := 0
	return w.s.holds(rv, 0, &n)
}

// bytes snapshots a byte slice or array as a marker with its length and
// first bytes.
func (w *walker) bytes(rv reflect.Value, typ string) any {
	n := rv.Len()
	p := make([]byte, min(n, bytesWindow))
	for i := range p {
		p[i] = byte(rv.Index(i).Uint())
	}
	return w.strValue(w.bytesMarker(typ, n, p))
}

// list snapshots a slice or an array.
func (w *walker) list(rv reflect.Value, r ref) any {
	total := rv.Len()
	if total == 0 {
		return w.scalar(emptySlice, 2)
	}
	if out, ok := w.enter(r); !ok {
		return out
	}
	n := min(total, w.s.maxItems)
	out := make([]any, 0, n+1)
	for i := range n {
		if !w.charge(1) {
			break
		}
		w.pushIndex(i)
		out = append(out, w.childReflect(rv.Index(i)))
		w.popPath()
		if w.exhausted() {
			break
		}
	}
	if len(out) < total {
		out = append(out, w.marker("…"+cutItems(total-len(out), len(out) < n)))
	}
	w.leave(r)
	return out
}

// childReflect is child for a value reached by reflection.
func (w *walker) childReflect(rv reflect.Value) any {
	if w.redact != nil && rv.CanInterface() {
		if r, ok := w.ask(rv.Interface()); ok {
			return w.replacement(r)
		}
	}
	return w.reflect(rv)
}

// mapValue snapshots a non-nil map without a fast path. Keys that are not
// strings are formatted by keyName.
func (w *walker) mapValue(rv reflect.Value) any {
	total := rv.Len()
	if total == 0 {
		return w.scalar(emptyMap(), 2)
	}
	r := ref{p: rv.UnsafePointer(), t: rv.Type()}
	if out, ok := w.enter(r); !ok {
		return out
	}
	var out map[string]any
	if total > w.s.maxItems {
		out = w.mapValueCut(rv, total)
	} else {
		out = w.mapValueAll(rv, total)
	}
	w.leave(r)
	return out
}

func (w *walker) mapValueAll(rv reflect.Value, total int) map[string]any {
	out := make(map[string]any, total)
	done := 0
	iter := rv.MapRange()
	// Reuse one key and one value rather than copying each entry.
	k := reflect.New(rv.Type().Key()).Elem()
	v := reflect.New(rv.Type().Elem()).Elem()
	// Reuse needs SetIterKey, which panics without CanInterface; and the
	// reused value is addressable, which a map value is not: an element
	// type with a pointer-receiver conversion must not get it here.
	reuse := rv.CanInterface() && w.s.info(rv.Type().Elem()).addrConv == convNone
	for iter.Next() {
		if reuse {
			k.SetIterKey(iter)
			v.SetIterValue(iter)
		} else {
			k, v = iter.Key(), iter.Value()
		}
		if !w.entryReflect(out, w.keyName(k), v) {
			break
		}
		done++
		if w.exhausted() {
			break
		}
	}
	if done < total {
		w.cut(out, cutItems(total-done, true))
	}
	return out
}

// mapValueCut is mapCut for a map without a fast path.
func (w *walker) mapValueCut(rv reflect.Value, total int) map[string]any {
	top := smallest[reflect.Value]{k: w.s.maxItems}
	iter := rv.MapRange()
	for iter.Next() {
		top.add(w.keyName(iter.Key()), iter.Value())
	}
	kept := top.sorted()
	out := make(map[string]any, len(kept)+1)
	done := 0
	for _, e := range kept {
		if !w.entryReflect(out, e.name, e.v) {
			break
		}
		done++
		if w.exhausted() {
			break
		}
	}
	w.cut(out, cutItems(total-done, done < len(kept)))
	return out
}

// entryReflect is entry for a value reached by reflection.
func (w *walker) entryReflect(out map[string]any, key string, v reflect.Value) bool {
	k, size := w.key(key)
	if !w.charge(size) {
		return false
	}
	if w.s.masked(key) {
		w.remember(v)
		out[k] = w.scalar(Masked, len(Masked)+2)
		return true
	}
	w.pushPath(k)
	out[k] = w.childReflect(v)
	w.popPath()
	return true
}

// keyName formats a map key: strings as they are, numbers and booleans
// as strconv formats them, a struct with a masked field as fmt.Sprint
// formats its snapshot (so its secrets are masked in the key too), anything
// else as fmt.Sprint does.
func (w *walker) keyName(k reflect.Value) string {
	switch k.Kind() {
	case reflect.String:
		return k.String()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(k.Float(), 'g', -1, 64)
	case reflect.Bool:
		return strconv.FormatBool(k.Bool())
	case reflect.Interface:
		if k.IsNil() {
			return "<nil>"
		}
		return w.keyName(k.Elem())
	}
	if !k.CanInterface() {
		return "!" + k.Type().String()
	}
	if ti := w.s.info(k.Type()); ti.secret || (ti.conv != convNone && ti.conv < convTime) {
		// Formatted from its snapshot, so that it is masked as a value is.
		sub := walker{s: w.s, seen: w.seen, collect: w.collect}
		sub.start(nil)
		v := sub.value(k.Interface())
		w.found = append(w.found, sub.found...)
		if s, ok := v.(string); ok {
			return s
		}
		return sprint(v)
	}
	return sprint(k.Interface())
}

// sprint is fmt.Sprint, which recovers panics in String and Error methods
// itself, made safe against other panics.
func sprint(v any) (s string) {
	defer func() {
		if p := recover(); p != nil {
			s = panicMarker("fmt.Sprint", p)
		}
	}()
	return fmt.Sprint(v)
}

// structValue snapshots a struct as a map of its fields.
func (w *walker) structValue(rv reflect.Value, ti *typeInfo) any {
	if len(ti.fields) == 0 {
		return w.scalar(emptyMap(), 2)
	}
	if out, ok := w.enter(ref{}); !ok {
		return out
	}
	out := make(map[string]any, len(ti.fields))
	done := 0
	for i := range ti.fields {
		f := &ti.fields[i]
		fv, ok := fieldByIndex(rv, f.index)
		if ok {
			if !w.charge(f.size) {
				break
			}
			if f.masked {
				w.remember(fv)
				out[f.name] = w.scalar(Masked, len(Masked)+2)
			} else {
				w.pushPath(f.name)
				out[f.name] = w.childReflect(fv)
				w.popPath()
			}
		}
		done++
		if w.exhausted() {
			break
		}
	}
	if done < len(ti.fields) {
		w.cut(out, cutItems(len(ti.fields)-done, true))
	}
	w.leave(ref{})
	return out
}

// fieldByIndex is reflect.Value.FieldByIndex, reporting false for a field
// promoted through a nil embedded pointer.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

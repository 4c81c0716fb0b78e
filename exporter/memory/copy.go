package memory

import (
	"reflect"
	"unsafe"

	"github.com/flowtrace/flowtrace"
)

// deepen replaces every map and slice that r shares with the exporter by a
// deep copy, so that r belongs to the caller. r comes from run.snapshot, so
// its Components slice and top-level Outputs maps are already its own.
func (r *Run) deepen() {
	var c copier
	r.Info.Metadata = c.mapAny(r.Info.Metadata)
	r.Info.Inputs = c.mapAny(r.Info.Inputs)
	r.Info.Tags = append([]string(nil), r.Info.Tags...)
	r.Logs = c.logs(r.Logs)
	c.inPlace(r.Outputs)
	c.inPlace(r.Inputs)
	r.ModelCalls = c.modelCalls(r.ModelCalls)
	for i := range r.Components {
		comp := &r.Components[i]
		comp.Info.Inputs = c.mapAny(comp.Info.Inputs)
		comp.Info.Metadata = c.mapAny(comp.Info.Metadata)
		comp.Logs = c.logs(comp.Logs)
		c.inPlace(comp.Outputs)
		c.inPlace(comp.Inputs)
		comp.ModelCalls = c.modelCalls(comp.ModelCalls)
	}
}

// modelCalls copies model call records: their parameters, messages and
// finish reasons.
func (c *copier) modelCalls(in []flowtrace.ModelCallRecord) []flowtrace.ModelCallRecord {
	if in == nil {
		return nil
	}
	out := make([]flowtrace.ModelCallRecord, len(in))
	for i, r := range in {
		r.Call.Parameters = c.mapAny(r.Call.Parameters)
		r.Call.FinishReasons = append([]string(nil), r.Call.FinishReasons...)
		r.Call.Input = copyMessages(r.Call.Input)
		r.Call.Output = copyMessages(r.Call.Output)
		out[i] = r
	}
	return out
}

func copyMessages(in []flowtrace.Message) []flowtrace.Message {
	if in == nil {
		return nil
	}
	out := make([]flowtrace.Message, len(in))
	for i, m := range in {
		m.ToolCalls = append([]flowtrace.ToolCall(nil), m.ToolCalls...)
		out[i] = m
	}
	return out
}

// copier deep-copies the value trees of records: map[string]any, []any and
// scalars, and defensively any map, slice or array (and interfaces holding
// them), whatever their types. A record built by hand may hold a container
// twice, or hold itself; the copy has the same shape, so it terminates.
// Structs and pointers are shared, not copied.
type copier struct {
	seen map[ref]any // original container → its copy
}

// ref identifies a container: a map by its pointer, a slice by its array,
// length and type.
type ref struct {
	p unsafe.Pointer
	n int
	t reflect.Type
}

func (c *copier) lookup(k ref) (any, bool) {
	v, ok := c.seen[k]
	return v, ok
}

func (c *copier) remember(k ref, v any) {
	if c.seen == nil {
		c.seen = make(map[ref]any)
	}
	c.seen[k] = v
}

func (c *copier) logs(ls []flowtrace.LogEntry) []flowtrace.LogEntry {
	if ls == nil {
		return nil
	}
	out := make([]flowtrace.LogEntry, len(ls))
	for i, l := range ls {
		l.Message = c.value(l.Message)
		out[i] = l
	}
	return out
}

// inPlace replaces the values of m, a map the caller owns, by copies.
func (c *copier) inPlace(m map[string]any) {
	for k, v := range m {
		m[k] = c.value(v)
	}
}

func (c *copier) mapAny(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	k := ref{p: reflect.ValueOf(m).UnsafePointer()}
	if done, ok := c.lookup(k); ok {
		return done.(map[string]any)
	}
	out := make(map[string]any, len(m))
	c.remember(k, out)
	for key, v := range m {
		out[key] = c.value(v)
	}
	return out
}

func (c *copier) sliceAny(s []any) []any {
	if s == nil {
		return nil
	}
	out := make([]any, len(s))
	if len(s) == 0 {
		return out
	}
	k := ref{p: unsafe.Pointer(&s[0]), n: len(s), t: reflect.TypeFor[[]any]()}
	if done, ok := c.lookup(k); ok {
		return done.([]any)
	}
	c.remember(k, out)
	for i, v := range s {
		out[i] = c.value(v)
	}
	return out
}

func (c *copier) value(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int64, float64, int, uint64:
		return v
	case map[string]any:
		return c.mapAny(x)
	case []any:
		return c.sliceAny(x)
	}
	rv := reflect.ValueOf(v)
	if !deep(rv.Type()) {
		return v
	}
	return c.reflect(rv).Interface()
}

// deep reports whether values of type t may hold a map or slice.
func deep(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Map, reflect.Slice, reflect.Interface:
		return true
	case reflect.Array:
		return deep(t.Elem())
	}
	return false
}

func (c *copier) reflect(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type()).Elem()
		out.Set(c.reflect(v.Elem()))
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		k := ref{p: v.UnsafePointer()}
		if done, ok := c.lookup(k); ok {
			return reflect.ValueOf(done)
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		c.remember(k, out.Interface())
		deepElem := deep(v.Type().Elem())
		for it := v.MapRange(); it.Next(); {
			e := it.Value()
			if deepElem {
				e = c.reflect(e)
			}
			out.SetMapIndex(it.Key(), e)
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		if !deep(v.Type().Elem()) {
			reflect.Copy(out, v)
			return out
		}
		if v.Len() == 0 {
			return out
		}
		k := ref{p: v.UnsafePointer(), n: v.Len(), t: v.Type()}
		if done, ok := c.lookup(k); ok {
			return reflect.ValueOf(done)
		}
		c.remember(k, out.Interface())
		for i := range v.Len() {
			out.Index(i).Set(c.reflect(v.Index(i)))
		}
		return out
	case reflect.Array:
		if !deep(v.Type().Elem()) {
			return v
		}
		out := reflect.New(v.Type()).Elem()
		for i := range v.Len() {
			out.Index(i).Set(c.reflect(v.Index(i)))
		}
		return out
	}
	return v
}

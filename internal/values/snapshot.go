package values

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"time"
	"unsafe"
)

// emptyMap returns the snapshot of an empty map or of a struct without
// fields. Each is a map of its own: snapshots are read-only by contract,
// but one map shared by every run would turn an exporter that breaks the
// contract into a race across the whole process.
func emptyMap() map[string]any { return map[string]any{} }

// emptySlice is the snapshot of every empty slice; a slice of length zero
// cannot be written through.
var emptySlice any = []any{}

var (
	typeMapAny   = reflect.TypeFor[map[string]any]()
	typeSliceAny = reflect.TypeFor[[]any]()
)

// Map returns a snapshot of m: nil for nil, an empty map for an empty one.
// Its values are snapshotted as by Value, with the path of each starting at
// its key; the Redactor is asked about the entries of m, not about m.
// The result is read-only; it shares no map with any other snapshot, empty
// ones included. b may be nil, for a budget of the map's own.
func (s *Snapshotter) Map(b *Budget, m map[string]any) (out map[string]any) {
	if m == nil {
		return nil
	}
	if len(m) == 0 {
		if b != nil {
			b.used += 2
		}
		return emptyMap()
	}
	w := walker{s: s}
	w.start(b)
	r := refOf(m)
	if _, ok := w.enter(r); !ok {
		// Only the budget can refuse the root.
		out = make(map[string]any, 1)
		w.cut(out, cutItems(len(m), true))
	} else {
		out = mapOf(&w, m)
		w.leave(r)
	}
	w.finish(b)
	return out
}

// Value returns a snapshot of v: a tree of map[string]any, []any, string,
// bool, int64, uint64, float64 and nil that shares no mutable memory with
// v, and that json.Marshal accepts. The package documentation lists the
// conversions, the masking rules and the limits. Value never panics and
// never modifies v, but calls its String, Error and MarshalJSON methods.
// The result is read-only. b may be nil, for a budget of the value's own.
func (s *Snapshotter) Value(b *Budget, v any) (out any) {
	w := walker{s: s}
	w.start(b)
	out = w.child(v)
	w.finish(b)
	return out
}

// ref identifies a map, slice or pointee being snapshotted, to detect
// cycles. The type tells a struct from its first field, the length a slice
// from a shorter slice of the same array.
type ref struct {
	p unsafe.Pointer
	n int
	t reflect.Type
}

func refOf(m map[string]any) ref {
	return ref{p: reflect.ValueOf(m).UnsafePointer(), t: typeMapAny}
}

// walker holds the state of one snapshot, on the caller's stack.
type walker struct {
	s    *Snapshotter
	used int // of the budget, written back when the snapshot is done
	// redact is the Redactor, or nil without one and inside a replacement.
	redact func(path []string, v any) (any, bool)
	path   []string // only built when redact is set

	depth   int // containers open
	hops    int // pointers open
	valuers int // TraceValue calls open

	seen    *Secrets // of the run, scrubbed from strings
	collect bool     // whether to collect found: with a Budget only
	found   []string // secrets masked, written back to the Budget

	guard bool // inside guarded

	nrefs int
	refs  [8]ref // the first refs open; the rest are in more
	more  []ref
}

func (w *walker) start(b *Budget) {
	if w.s == nil {
		w.s = defaultSnapshotter
	}
	if b != nil {
		w.used = b.used
		w.seen = b.Seen
		w.collect = true
		w.found = b.found
	}
	if w.s.redactor != nil {
		w.redact = w.s.redactor
		w.path = make([]string, 0, 8)
	}
}

// finish writes the budget back.
func (w *walker) finish(b *Budget) {
	if b != nil {
		b.used = w.used
		b.found = w.found
	}
}

// guarded is reflect for a value at the root of the walk of a type
// without a fast path: a panic in it, which would be a bug of this
// package, becomes a marker for that value, not a crash of the caller,
// and the walker's state is restored to what it was before the value.
// The fast paths, which call no method of the caller's and take no
// reflection, run without a deferred recover.
func (w *walker) guarded(rv reflect.Value) (out any) {
	if w.guard {
		return w.reflect(rv)
	}
	w.guard = true
	saved := *w
	defer func() {
		if p := recover(); p != nil {
			used := w.used
			*w = saved
			w.used = max(used, saved.used)
			out = w.marker(panicMarker("snapshot", p))
		}
		w.guard = false
	}()
	return w.reflect(rv)
}

// Budget.

func (w *walker) left() int { return w.s.maxBytes - w.used }

func (w *walker) exhausted() bool { return w.used >= w.s.maxBytes }

func (w *walker) exhaust() {
	if w.used < w.s.maxBytes {
		w.used = w.s.maxBytes
	}
}

// charge reports whether n more bytes fit in the budget, and takes them.
// Once a value does not fit the budget stays exhausted, so that what
// follows it is cut too.
func (w *walker) charge(n int) bool {
	if w.used+n > w.s.maxBytes {
		w.exhaust()
		return false
	}
	w.used += n
	return true
}

// marker charges a marker, which is never refused, and returns it.
func (w *walker) marker(s string) any {
	w.used += len(s) + 2
	return s
}

// cut adds to a map the entry that says what was cut from it.
func (w *walker) cut(out map[string]any, what string) {
	w.used += len(MarkerKey) + 4
	out[MarkerKey] = w.marker(what)
}

// over exhausts the budget and returns MarkerBytes.
func (w *walker) over() string {
	w.exhaust()
	w.used += len(MarkerBytes) + 2
	return MarkerBytes
}

// scalar returns v, or MarkerBytes if its JSON size does not fit.
func (w *walker) scalar(v any, size int) any {
	if !w.charge(size) {
		return w.over()
	}
	return v
}

// Containers and cycles.

// enter opens a map, slice, array or struct identified by r (r.p is nil
// for arrays and structs, which cannot contain themselves). If it cannot be
// opened it returns the marker to use instead and false.
func (w *walker) enter(r ref) (any, bool) {
	if w.depth >= w.s.maxDepth {
		return w.marker(MarkerDepth), false
	}
	if r.p != nil && w.open(r) {
		return w.marker(MarkerCycle), false
	}
	if !w.charge(2) {
		return w.over(), false
	}
	w.depth++
	if r.p != nil {
		w.push(r)
	}
	return nil, true
}

func (w *walker) leave(r ref) {
	w.depth--
	if r.p != nil {
		w.pop()
	}
}

// open reports whether r is open, that is, whether the value being
// snapshotted contains itself.
func (w *walker) open(r ref) bool {
	for i := range min(w.nrefs, len(w.refs)) {
		if w.refs[i] == r {
			return true
		}
	}
	for i := range w.more {
		if w.more[i] == r {
			return true
		}
	}
	return false
}

func (w *walker) push(r ref) {
	if w.nrefs < len(w.refs) {
		w.refs[w.nrefs] = r
	} else {
		if w.more == nil {
			w.more = make([]ref, 0, 2*len(w.refs))
		}
		w.more = append(w.more, r)
	}
	w.nrefs++
}

func (w *walker) pop() {
	w.nrefs--
	if w.nrefs >= len(w.refs) {
		w.more = w.more[:len(w.more)-1]
	}
}

// Paths and the Redactor.

func (w *walker) pushPath(k string) {
	if w.redact != nil {
		w.path = append(w.path, k)
	}
}

func (w *walker) pushIndex(i int) {
	if w.redact != nil {
		w.path = append(w.path, strconv.Itoa(i))
	}
}

func (w *walker) popPath() {
	if w.redact != nil {
		w.path = w.path[:len(w.path)-1]
	}
}

// child snapshots the value at a new path: the Redactor is asked first.
func (w *walker) child(v any) any {
	if w.redact != nil {
		if r, ok := w.ask(v); ok {
			return w.replacement(r)
		}
	}
	return w.value(v)
}

// ask asks the Redactor about v, with pointers followed so that a *string
// is seen as a string.
func (w *walker) ask(v any) (any, bool) {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer {
		for hops := 0; hops <= w.s.maxDepth && (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface) && !rv.IsNil(); {
			if rv.Kind() == reflect.Pointer {
				hops++
			}
			rv = rv.Elem()
		}
		if rv.CanInterface() {
			v = rv.Interface()
		}
	}
	return callRedactor(w.redact, w.path, v)
}

// replacement snapshots what the Redactor returned, without asking it
// again about what is below.
func (w *walker) replacement(r any) any {
	f := w.redact
	w.redact = nil
	out := w.value(r)
	w.redact = f
	return out
}

func callRedactor(f func([]string, any) (any, bool), path []string, v any) (r any, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			r, ok = panicMarker("Redactor", p), true
		}
	}()
	return f(path, v)
}

// Values.

// value snapshots v at the current path. Common types take a fast path;
// the rest are snapshotted by reflection.
func (w *walker) value(v any) any {
	switch x := v.(type) {
	case nil:
		return w.scalar(nil, 4)
	case string:
		if out, same := w.str(x); !same {
			return out
		}
		return v
	case bool:
		return w.scalar(v, 5)
	case int:
		return w.int(int64(x), nil)
	case int64:
		return w.int(x, v)
	case int32:
		return w.int(int64(x), nil)
	case int16:
		return w.int(int64(x), nil)
	case int8:
		return w.int(int64(x), nil)
	case uint:
		return w.uint(uint64(x), nil)
	case uint64:
		return w.uint(x, v)
	case uint32:
		return w.uint(uint64(x), nil)
	case uint16:
		return w.uint(uint64(x), nil)
	case uint8:
		return w.uint(uint64(x), nil)
	case uintptr:
		return w.uint(uint64(x), nil)
	case float64:
		return w.float(x, v)
	case float32:
		return w.float(float64(x), nil)
	case map[string]any:
		if x == nil {
			return w.scalar(nil, 4)
		}
		if len(x) == 0 {
			return w.scalar(emptyMap(), 2)
		}
		r := refOf(x)
		if out, ok := w.enter(r); !ok {
			return out
		}
		out := mapOf(w, x)
		w.leave(r)
		return out
	case []any:
		return sliceOf(w, x, ref{p: unsafe.Pointer(unsafe.SliceData(x)), n: len(x), t: typeSliceAny})
	case map[string]string:
		if x == nil {
			return w.scalar(nil, 4)
		}
		if len(x) == 0 {
			return w.scalar(emptyMap(), 2)
		}
		if out, ok := w.enter(ref{}); !ok {
			return out
		}
		out := mapOf(w, x)
		w.leave(ref{})
		return out
	case []string:
		return sliceOf(w, x, ref{})
	case time.Time:
		return w.strValue(x.Format(time.RFC3339Nano))
	case time.Duration:
		return w.strValue(x.String())
	case []byte:
		if x == nil {
			return w.scalar(nil, 4)
		}
		return w.strValue(w.bytesMarker("[]byte", len(x), x[:min(len(x), bytesWindow)]))
	case json.Number:
		return w.number(x)
	}
	return w.guarded(reflect.ValueOf(v))
}

func (w *walker) int(x int64, v any) any {
	if !w.charge(intSize(x)) {
		return w.over()
	}
	if v != nil {
		return v
	}
	return x
}

func (w *walker) uint(x uint64, v any) any {
	if !w.charge(uintSize(x)) {
		return w.over()
	}
	if v != nil {
		return v
	}
	return x
}

// float snapshots f; NaN and the infinities, which JSON cannot carry,
// become strings.
func (w *walker) float(f float64, v any) any {
	switch {
	case math.IsNaN(f):
		return w.scalar("NaN", 5)
	case math.IsInf(f, 1):
		return w.scalar("+Inf", 6)
	case math.IsInf(f, -1):
		return w.scalar("-Inf", 6)
	}
	size := 24 // the longest float64 in JSON
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		size = intSize(int64(f))
		if math.Signbit(f) && f == 0 {
			size = 2 // -0
		}
	}
	if !w.charge(size) {
		return w.over()
	}
	if v != nil {
		return v
	}
	return f
}

// number snapshots a number decoded from MarshalJSON output.
func (w *walker) number(n json.Number) any {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return w.int(i, nil)
	}
	if u, err := strconv.ParseUint(string(n), 10, 64); err == nil {
		return w.uint(u, nil)
	}
	if f, err := strconv.ParseFloat(string(n), 64); err == nil || math.IsInf(f, 0) {
		return w.float(f, nil)
	}
	return w.strValue(string(n))
}

func intSize(x int64) int {
	if x < 0 {
		return 1 + uintSize(-uint64(x))
	}
	return uintSize(uint64(x))
}

func uintSize(x uint64) int {
	n := 1
	for x >= 10 {
		x /= 10
		n++
	}
	return n
}

// mapOf snapshots the entries of a non-empty map whose container is open.
func mapOf[V any](w *walker, m map[string]V) map[string]any {
	if len(m) > w.s.maxItems {
		return mapCut(w, m)
	}
	out := make(map[string]any, len(m))
	done := 0
	for k, v := range m {
		if !w.entry(out, k, v) {
			break
		}
		done++
		if w.exhausted() {
			break
		}
	}
	if done < len(m) {
		w.cut(out, cutItems(len(m)-done, true))
	}
	return out
}

// mapCut snapshots the MaxItems entries of m with the smallest keys, so
// that the entries kept do not depend on the order of iteration.
func mapCut[V any](w *walker, m map[string]V) map[string]any {
	top := smallest[V]{k: w.s.maxItems}
	for k, v := range m {
		top.add(k, v)
	}
	kept := top.sorted()
	out := make(map[string]any, len(kept)+1)
	done := 0
	for _, e := range kept {
		if !w.entry(out, e.name, e.v) {
			break
		}
		done++
		if w.exhausted() {
			break
		}
	}
	w.cut(out, cutItems(len(m)-done, done < len(kept)))
	return out
}

// entry snapshots a map entry into out; it reports false, storing nothing,
// if the key does not fit in the budget. The key is checked for masking
// whole, before it is cut.
func (w *walker) entry(out map[string]any, key string, v any) bool {
	kv, ok := w.kv(key, v)
	if ok {
		out[kv.Key] = kv.Value
	}
	return ok
}

// sliceOf snapshots a slice identified by r.
func sliceOf[V any](w *walker, x []V, r ref) any {
	if x == nil {
		return w.scalar(nil, 4)
	}
	if len(x) == 0 {
		return w.scalar(emptySlice, 2)
	}
	if out, ok := w.enter(r); !ok {
		return out
	}
	n := min(len(x), w.s.maxItems)
	room := n // a slice cut by the byte budget grows once for its marker: rare
	if n < len(x) {
		room++ // the marker of the items cut
	}
	out := make([]any, 0, room)
	for i := range n {
		if !w.charge(1) {
			break
		}
		w.pushIndex(i)
		out = append(out, w.child(x[i]))
		w.popPath()
		if w.exhausted() {
			break
		}
	}
	if len(out) < len(x) {
		out = append(out, w.marker("…"+cutItems(len(x)-len(out), len(out) < n)))
	}
	w.leave(r)
	return out
}

// Keyed returns a snapshot of v as the value of key: Masked when key is
// masked (v is then remembered, never converted), else as Value does. It
// is how a value named by a key outside any map, a log's name, is masked.
func (s *Snapshotter) Keyed(b *Budget, key string, v any) (out any) {
	w := walker{s: s}
	w.start(b)
	if w.s.masked(key) {
		if w.collect {
			w.remember(reflect.ValueOf(v))
		}
		out = w.scalar(Masked, len(Masked)+2)
	} else {
		out = w.child(v)
	}
	w.finish(b)
	return out
}

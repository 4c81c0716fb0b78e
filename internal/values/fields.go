package values

import (
	"cmp"
	"reflect"
	"slices"
)

// KV is one named value of a Fields snapshot.
type KV struct {
	Key   string
	Value any
}

// emptyFields is the snapshot of every empty map: non-nil, so that it
// stays distinct from the snapshot of a nil map, and never written to.
var emptyFields = []KV{}

// Fields is Map in ordered form: the snapshot of m's entries sorted by key,
// with the same conversions, masking, limits and budget, and like Map no
// deferred recover of its own (see guarded); the cut marker (under
// MarkerKey) is an entry like any other. It returns nil for a nil m and a
// non-nil empty slice for an empty one. The result is read-only.
//
// A small map costs one allocation here, where a map snapshot costs two and
// five to ten times the bytes; this is the form records carry at their top
// level.
func (s *Snapshotter) Fields(b *Budget, m map[string]any) []KV {
	return s.FieldsInto(b, m, nil)
}

// FieldsInto is Fields writing into dst's spare capacity when it holds the
// entries, so that a caller can allocate them together with the record
// that carries them; dst must be empty, and is not used otherwise.
func (s *Snapshotter) FieldsInto(b *Budget, m map[string]any, dst []KV) (out []KV) {
	if m == nil {
		return nil
	}
	if len(m) == 0 {
		if b != nil {
			b.used += 2
		}
		return emptyFields
	}
	w := walker{s: s}
	if w.s == nil {
		w.s = defaultSnapshotter
	}
	if len(m) > w.s.maxItems {
		// Rare: which entries are kept is decided as for a map.
		return KVsOf(s.Map(b, m))
	}
	w.start(b)
	r := refOf(m)
	if _, ok := w.enter(r); !ok {
		// Only the budget can refuse the root.
		out = []KV{{MarkerKey, w.marker(cutItems(len(m), true))}}
		w.finish(b)
		return out
	}
	if cap(dst) >= len(m) {
		out = dst[:0]
	} else {
		out = make([]KV, 0, len(m))
	}
	// A small map's entries are gathered and sorted on the stack, then
	// copied once: sorted where they are kept, every swap paid the write
	// barriers of four pointers while the GC runs, which in a process
	// that records is often.
	if len(m) < smallFields { // with room for the cut marker
		var small [smallFields]KV
		kvs := w.kvs(m, small[:0])
		w.leave(r)
		w.finish(b)
		return append(out, sortKVs(kvs)...)
	}
	out = w.kvs(m, out)
	w.leave(r)
	w.finish(b)
	return sortKVs(out)
}

// kvs appends the entries of m to dst, unsorted, with the cut marker if
// not all of them fit.
func (w *walker) kvs(m map[string]any, dst []KV) []KV {
	for k, v := range m {
		kv, ok := w.kv(k, v)
		if !ok {
			break
		}
		dst = append(dst, kv)
		if w.exhausted() {
			break
		}
	}
	if n := len(dst); n < len(m) {
		w.used += len(MarkerKey) + 4
		dst = append(dst, KV{MarkerKey, w.marker(cutItems(len(m)-n, true))})
	}
	return dst
}

// smallFields bounds the maps whose entries FieldsInto sorts on the stack.
const smallFields = 16

// kv snapshots the entry key: v of a map, reporting false once the budget
// refuses its key; entry writes it into a map snapshot, Fields appends it.
func (w *walker) kv(key string, v any) (KV, bool) {
	k, size, masked := w.entryKey(key)
	if !w.charge(size) {
		return KV{}, false
	}
	if masked {
		if w.collect {
			w.remember(reflect.ValueOf(v))
		}
		return KV{k, w.scalar(Masked, len(Masked)+2)}, true
	}
	w.pushPath(k)
	val := w.child(v)
	w.popPath()
	return KV{k, val}, true
}

// sortKVs sorts kvs by key and drops all but the last of equal keys (two
// long keys cut to the same prefix, say), as a map would keep one.
func sortKVs(kvs []KV) []KV {
	if len(kvs) < 2 {
		return kvs
	}
	if len(kvs) <= 16 {
		// Insertion sort: the common case is a handful of keys, where it
		// beats the generic sort by several times.
		for i := 1; i < len(kvs); i++ {
			for j := i; j > 0 && kvs[j].Key < kvs[j-1].Key; j-- {
				kvs[j], kvs[j-1] = kvs[j-1], kvs[j]
			}
		}
	} else {
		slices.SortFunc(kvs, func(a, b KV) int { return cmp.Compare(a.Key, b.Key) })
	}
	out := kvs[:1]
	for _, kv := range kvs[1:] {
		if kv.Key == out[len(out)-1].Key {
			out[len(out)-1] = kv
			continue
		}
		out = append(out, kv)
	}
	return out
}

// KVsOf returns the entries of m sorted by key, values as they are: nil for
// a nil m, non-nil for an empty one.
func KVsOf(m map[string]any) []KV {
	if m == nil {
		return nil
	}
	if len(m) == 0 {
		return emptyFields
	}
	out := make([]KV, 0, len(m))
	for k, v := range m {
		out = append(out, KV{k, v})
	}
	return sortKVs(out)
}

package values

// Clone returns a copy of v, a snapshot tree, that shares no mutable memory
// with it: every map[string]any and []any is copied, nil ones stay nil and
// empty ones empty; strings, booleans, numbers and nil are shared, being
// immutable. A value of any other type, which a snapshot never holds, is
// shared as it is.
//
// A snapshot is at most MaxDepthLimit deep. Containers nested deeper are
// shared rather than copied, so that a hand-built value that contains
// itself is copied to that depth and then shared, where following it would
// never end.
func Clone(v any) any { return cloneAt(v, 0) }

// CloneMap is Clone for a map: a new map with cloned values, or nil for nil.
func CloneMap(m map[string]any) map[string]any { return cloneMap(m, 0) }

// cloneLimit is the depth from which containers are shared: deeper than
// any snapshot, bounded so that cyclic hand-built values terminate.
const cloneLimit = MaxDepthLimit + 2

func cloneAt(v any, depth int) any {
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			return v
		}
		return cloneMap(x, depth)
	case []any:
		if x == nil || depth >= cloneLimit {
			return v
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneAt(e, depth+1)
		}
		return out
	}
	return v
}

func cloneMap(m map[string]any, depth int) map[string]any {
	if m == nil || depth >= cloneLimit {
		return m
	}
	out := make(map[string]any, len(m))
	for k, e := range m {
		out[k] = cloneAt(e, depth+1)
	}
	return out
}

package exportertest

import (
	"fmt"
	"reflect"
	"slices"
)

// recordDiff describes the first difference between two records of the same
// struct type, field by field, or returns "" if they are deeply equal.
func recordDiff(was, now any) string {
	w, n := reflect.ValueOf(was), reflect.ValueOf(now)
	if w.Type() != n.Type() || w.Kind() != reflect.Struct {
		return valueDiff("record", was, now)
	}
	for i := range w.NumField() {
		if !w.Type().Field(i).IsExported() {
			continue
		}
		if d := valueDiff(w.Type().Field(i).Name, w.Field(i).Interface(), n.Field(i).Interface()); d != "" {
			return d
		}
	}
	return ""
}

// valueDiff describes the first difference between two values trees, with
// its path, or returns "" if they are deeply equal.
func valueDiff(path string, was, now any) string {
	if reflect.DeepEqual(was, now) {
		return ""
	}
	switch w := was.(type) {
	case map[string]any:
		n, ok := now.(map[string]any)
		if !ok || (w == nil) != (n == nil) {
			break
		}
		keys := make([]string, 0, len(w)+len(n))
		for k := range w {
			keys = append(keys, k)
		}
		for k := range n {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range slices.Compact(keys) {
			p := fmt.Sprintf("%s[%q]", path, k)
			wv, inW := w[k]
			nv, inN := n[k]
			switch {
			case !inW:
				return fmt.Sprintf("%s added: %s", p, short(nv))
			case !inN:
				return fmt.Sprintf("%s removed (was %s)", p, short(wv))
			}
			if d := valueDiff(p, wv, nv); d != "" {
				return d
			}
		}
	case []any:
		n, ok := now.([]any)
		if !ok || (w == nil) != (n == nil) || len(w) != len(n) {
			break
		}
		for i := range w {
			if d := valueDiff(fmt.Sprintf("%s[%d]", path, i), w[i], n[i]); d != "" {
				return d
			}
		}
	}
	return fmt.Sprintf("%s was %s, is now %s", path, short(was), short(now))
}

// short formats v in at most about 60 bytes.
func short(v any) string {
	s := fmt.Sprintf("%#v", v)
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

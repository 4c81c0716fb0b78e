package values

import (
	"cmp"
	"reflect"
	"slices"
	"strings"
)

// MinSecretLen is the length in bytes below which a masked string is not
// remembered as a secret: replacing every occurrence of a short string
// ("1234", "admin") would mangle unrelated text.
const MinSecretLen = 8

// maxRemembered bounds the secrets remembered from one masked value, and
// maxSecrets those of a run, so that a hostile value cannot make every
// later snapshot of its run slow.
const (
	maxRemembered = 64
	maxSecrets    = 1024
)

// Secrets is an immutable set of secret strings: the strings masked so far
// in one run. Snapshots taken with a Budget whose Seen is set replace
// every occurrence of them in the strings they record by Masked. A nil
// *Secrets is the empty set. A Secrets is never modified once made: With
// returns a new one, so that it can be published with an atomic pointer
// and read without locks.
type Secrets struct {
	list []string // longest first, so that a secret is replaced before its parts
}

// Len returns the number of secrets in the set.
func (s *Secrets) Len() int {
	if s == nil {
		return 0
	}
	return len(s.list)
}

// With returns the set with found added, or s itself when found adds
// nothing. Strings shorter than MinSecretLen are ignored.
func (s *Secrets) With(found []string) *Secrets {
	var add []string
	for _, f := range found {
		if len(f) < MinSecretLen || s.has(f) || slices.Contains(add, f) {
			continue
		}
		add = append(add, f)
	}
	if len(add) == 0 || s.Len() >= maxSecrets {
		return s
	}
	var list []string
	if s != nil {
		list = s.list
	}
	list = slices.Concat(list, add)
	if len(list) > maxSecrets {
		list = list[:maxSecrets]
	}
	slices.SortStableFunc(list, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return &Secrets{list: list}
}

func (s *Secrets) has(x string) bool { return s != nil && slices.Contains(s.list, x) }

// Scrub returns x with every occurrence of a secret of s replaced by
// Masked.
func (s *Secrets) Scrub(x string) string {
	if s == nil || len(x) < MinSecretLen {
		return x
	}
	for _, sec := range s.list {
		if len(sec) <= len(x) && strings.Contains(x, sec) {
			x = strings.ReplaceAll(x, sec, Masked)
		}
	}
	return x
}

// remember collects the strings of a value being masked, so that the run
// can mask them wherever they occur later. Only strings of at least
// MinSecretLen bytes are kept, at most maxRemembered of one value, found
// without calling any of the value's methods.
//
// It runs outside of any guard, under a masked key of a fast path, so it
// recovers a panic itself, which would be a bug of this package: the
// value stays masked, and what was collected before the panic is kept.
func (w *walker) remember(rv reflect.Value) {
	if !w.collect || !rv.IsValid() {
		return
	}
	defer func() { _ = recover() }()
	n := 0
	w.gather(rv, 0, &n)
}

func (w *walker) rememberString(x string) {
	if w.collect && len(x) >= MinSecretLen && len(w.found) < maxSecrets {
		w.found = append(w.found, x)
	}
}

func (w *walker) gather(rv reflect.Value, depth int, n *int) {
	if *n >= maxRemembered || depth > 8 {
		return
	}
	*n++
	switch rv.Kind() {
	case reflect.String:
		w.rememberString(rv.String())
	case reflect.Pointer, reflect.Interface:
		if !rv.IsNil() {
			w.gather(rv.Elem(), depth+1, n)
		}
	case reflect.Slice, reflect.Array:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			if rv.Kind() == reflect.Slice {
				w.rememberString(string(rv.Bytes()[:min(rv.Len(), w.s.maxString)]))
			}
			return
		}
		for i := range min(rv.Len(), maxRemembered) {
			w.gather(rv.Index(i), depth+1, n)
		}
	case reflect.Map:
		iter := rv.MapRange()
		for i := 0; i < maxRemembered && iter.Next(); i++ {
			w.gather(iter.Value(), depth+1, n)
		}
	case reflect.Struct:
		for i := range rv.NumField() {
			w.gather(rv.Field(i), depth+1, n)
		}
	}
}

// maskedStrings appends to out the strings that a walk of rv would mask:
// those under fields tagged or named as secrets, and values of secret
// types, unexported fields included. under reports that rv is itself
// under a masked field. It calls no method.
func (s *Snapshotter) maskedStrings(rv reflect.Value, under bool, depth int, n *int, out *[]string) {
	if *n >= maxProbe || depth > s.maxDepth || !rv.IsValid() {
		return
	}
	*n++
	t := rv.Type()
	if slices.Contains(s.secrets, t) {
		under = true
	}
	if !under && rv.Kind() != reflect.Interface && !s.info(t).secret {
		return
	}
	switch rv.Kind() {
	case reflect.String:
		if under {
			*out = append(*out, rv.String())
		}
	case reflect.Interface, reflect.Pointer:
		if !rv.IsNil() {
			s.maskedStrings(rv.Elem(), under, depth+1, n, out)
		}
	case reflect.Struct:
		for i := range t.NumField() {
			sf := t.Field(i)
			secret, _ := flowtraceTag(sf.Tag.Get("flowtrace"))
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			m := under || secret || s.masked(sf.Name) || (name != "" && name != "-" && s.masked(name))
			s.maskedStrings(rv.Field(i), m, depth+1, n, out)
		}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			if under && rv.Kind() == reflect.Slice {
				*out = append(*out, string(rv.Bytes()[:min(rv.Len(), s.maxString)]))
			}
			return
		}
		for i := range min(rv.Len(), maxProbe) {
			s.maskedStrings(rv.Index(i), under, depth+1, n, out)
		}
	case reflect.Map:
		iter := rv.MapRange()
		for iter.Next() && *n < maxProbe {
			s.maskedStrings(iter.Value(), under, depth+1, n, out)
		}
	}
}

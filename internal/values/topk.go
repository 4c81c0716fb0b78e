package values

import (
	"cmp"
	"slices"
)

// named is a map entry under its (formatted) key.
type named[V any] struct {
	name string
	v    V
}

// smallest keeps the k entries with the smallest names it is given, in a
// max-heap, for a deterministic cut of a map: O(n log k) time, O(k) space.
type smallest[V any] struct {
	k     int
	items []named[V]
}

func (h *smallest[V]) add(name string, v V) {
	if len(h.items) < h.k {
		h.items = append(h.items, named[V]{name, v})
		h.up(len(h.items) - 1)
		return
	}
	if h.k == 0 || name >= h.items[0].name {
		return
	}
	h.items[0] = named[V]{name, v}
	h.down(0)
}

func (h *smallest[V]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if h.items[p].name >= h.items[i].name {
			return
		}
		h.items[p], h.items[i] = h.items[i], h.items[p]
		i = p
	}
}

func (h *smallest[V]) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h.items) {
			return
		}
		c := l
		if r := l + 1; r < len(h.items) && h.items[r].name > h.items[l].name {
			c = r
		}
		if h.items[i].name >= h.items[c].name {
			return
		}
		h.items[i], h.items[c] = h.items[c], h.items[i]
		i = c
	}
}

// sorted returns the entries kept, by name.
func (h *smallest[V]) sorted() []named[V] {
	slices.SortFunc(h.items, func(a, b named[V]) int { return cmp.Compare(a.name, b.name) })
	return h.items
}

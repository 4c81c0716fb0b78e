package flowtrace

// openList is the list of a run's open components, oldest first, linked
// through the components themselves. Its zero value is an empty list. It
// is guarded by the run's mu.
//
// A head of two pointers rather than a sentinel Component keeps an open
// run a third smaller.
type openList struct {
	first, last *Component
}

// push appends c, which is in no list.
func (l *openList) push(c *Component) {
	c.prev, c.next = l.last, nil
	if l.last != nil {
		l.last.next = c
	} else {
		l.first = c
	}
	l.last = c
	c.linked = true
}

// remove unlinks c if it is in the list.
func (l *openList) remove(c *Component) {
	if !c.linked {
		return
	}
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.first = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		l.last = c.prev
	}
	c.prev, c.next, c.linked = nil, nil, false
}

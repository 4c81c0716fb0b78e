package flowtrace

// openList is the list of a run's open components, oldest first, linked
// through the components themselves. Its zero value is an empty list. It
// is guarded by the run's mu.
//
// A head of two pointers rather than a sentinel Component keeps an open
// run a third smaller. Runs whose engine names its components (ComponentInfo.ID)
// also get an index by ID, made the first time one is named, so that
// finding a component by ID (ComponentByID, the duplicate check of
// TraceComponent) does not walk every open component: an engine with
// thousands of calls in flight would otherwise pay for each of them on
// every start.
type openList struct {
	first, last *Component
	byID        map[string]*Component // nil until a component is named
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
	if l.byID != nil {
		l.byID[c.info.ComponentID] = c
	}
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
	if l.byID != nil && l.byID[c.info.ComponentID] == c {
		delete(l.byID, c.info.ComponentID)
	}
}

// lookup returns the open component with ID id, or nil. The first lookup
// indexes the list.
func (l *openList) lookup(id string) *Component {
	if l.byID == nil {
		l.byID = make(map[string]*Component)
		for c := l.first; c != nil; c = c.next {
			l.byID[c.info.ComponentID] = c
		}
	}
	return l.byID[id]
}

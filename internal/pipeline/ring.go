package pipeline

import "sync/atomic"

// ring is a bounded multi-producer, single-consumer queue. Producers claim a
// slot with one CAS on tail and publish it by storing the slot's sequence;
// the consumer owns head. No lock is shared between producers and the
// consumer (after D. Vyukov's bounded MPMC queue).
type ring[O, E any] struct {
	mask  uint64
	slots []slot[O, E]
	_     [cacheLine - 8]byte
	tail  atomic.Uint64 // next position to claim, shared by producers
	_     [cacheLine - 8]byte
	head  uint64 // next position to read, consumer only
}

// cacheLine is the size that keeps data written by different cores apart.
const cacheLine = 64

type slot[O, E any] struct {
	seq atomic.Uint64 // == pos: free for pos; == pos+1: holds the item of pos
	rl  *runLane[O, E]
	ev  Event[E]
	_   [16]byte
}

// maxRing is the largest ring newRing makes.
const maxRing = 1 << 24

// newRing returns a ring of at least size slots, rounded up to a power of
// two, and never fewer than two: with one slot, a slot holding the item of
// position p (sequence p+1) would look free to the producer of position p+1.
func newRing[O, E any](size int) *ring[O, E] {
	size = min(size, maxRing) // the caller validates; this only keeps the loop finite
	n := uint64(2)
	for n < uint64(size) {
		n <<= 1
	}
	r := &ring[O, E]{mask: n - 1, slots: make([]slot[O, E], n)}
	for i := range r.slots {
		r.slots[i].seq.Store(uint64(i))
	}
	return r
}

// push reports whether the item was queued; it fails only when the ring is full.
func (r *ring[O, E]) push(rl *runLane[O, E], ev Event[E]) bool {
	pos := r.tail.Load()
	for {
		s := &r.slots[pos&r.mask]
		seq := s.seq.Load()
		switch d := int64(seq - pos); {
		case d == 0:
			if r.tail.CompareAndSwap(pos, pos+1) {
				s.rl, s.ev = rl, ev
				s.seq.Store(pos + 1)
				return true
			}
		case d < 0:
			return false
		}
		pos = r.tail.Load()
	}
}

// front returns the oldest published item without taking it, so that the
// consumer decides on the very item it will take (see advance). Consumer
// only.
func (r *ring[O, E]) front() (*runLane[O, E], Event[E], bool) {
	s := &r.slots[r.head&r.mask]
	if s.seq.Load() != r.head+1 {
		return nil, Event[E]{}, false
	}
	return s.rl, s.ev, true
}

// advance takes the item front returned: only the consumer moves head, so
// that item is still the oldest. Consumer only.
func (r *ring[O, E]) advance() {
	s := &r.slots[r.head&r.mask]
	s.rl, s.ev = nil, Event[E]{}
	s.seq.Store(r.head + r.mask + 1)
	r.head++
}

// pop takes the oldest published item. Consumer only.
func (r *ring[O, E]) pop() (*runLane[O, E], Event[E], bool) {
	rl, ev, ok := r.front()
	if ok {
		r.advance()
	}
	return rl, ev, ok
}

// ready reports whether pop would return an item. Consumer only.
func (r *ring[O, E]) ready() bool {
	return r.slots[r.head&r.mask].seq.Load() == r.head+1
}

func (r *ring[O, E]) capacity() int { return len(r.slots) }

// pushed returns how many items were ever queued (claimed, and about to be
// published). Any goroutine.
func (r *ring[O, E]) pushed() uint64 { return r.tail.Load() }

package pipeline

import "sync"

// signal is a one-shot event whose channel is made only when somebody
// waits for it: most runs end without a writer waiting for room (abort)
// and are open far longer than anybody waits for their end (done), and an
// open run pays for neither channel. Once fired, ch is closedChan, so
// that a signal is two words. The zero value has not fired.
type signal struct {
	mu sync.Mutex
	ch chan struct{} // nil until waited for or fired; closedChan once fired
}

// C returns a channel closed when the signal fires.
func (s *signal) C() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

// fire fires the signal; later calls do nothing.
func (s *signal) fire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.ch {
	case closedChan:
		return
	case nil:
	default:
		close(s.ch)
	}
	s.ch = closedChan
}

// Fired reports whether the signal has fired.
func (s *signal) Fired() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch == closedChan
}

// Package serialwriter hands whole records to an io.Writer one at a time,
// so that records written from many goroutines never interleave, even on
// a writer that is not safe for concurrent use.
package serialwriter

import (
	"errors"
	"io"
	"os"
	"sync"
)

// errInvalidWrite reports a writer that returned a count outside [0, len(p)],
// as io.Copy does for the same fault.
var errInvalidWrite = errors.New("serialwriter: invalid write result")

// Writer serialises Write and Flush on W. The zero value writes to
// os.Stdout. A Writer is safe for concurrent use and must not be copied
// after first use.
type Writer struct {
	mu sync.Mutex // held only around W's Write and Flush
	W  io.Writer  // os.Stdout if nil; set before first use
}

var _ io.Writer = (*Writer)(nil)

func (s *Writer) out() io.Writer {
	if s.W == nil {
		return os.Stdout
	}
	return s.W
}

// Write hands p to the underlying writer in exactly one Write call, while
// no other Write or Flush of s is running, and returns what it returned. A
// short write without an error is reported as io.ErrShortWrite; a count
// below 0 or above len(p) is clamped and reported as an error. A panic in
// the underlying writer leaves s usable.
func (s *Writer) Write(p []byte) (int, error) {
	w := s.out()
	n, err := s.write(w, p)
	switch {
	case n < 0 || n > len(p):
		n = min(max(n, 0), len(p))
		if err == nil {
			err = errInvalidWrite
		}
	case n < len(p) && err == nil:
		err = io.ErrShortWrite
	}
	return n, err
}

func (s *Writer) write(w io.Writer, p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock() // deferred: a panicking writer must not keep the lock
	return w.Write(p)
}

// Flush calls the writer's Flush() error method, if it has one (as
// *bufio.Writer does), while no Write of s is running, and returns its
// error. It never closes the writer. Without such a method it returns nil.
func (s *Writer) Flush() error {
	f, ok := s.out().(interface{ Flush() error })
	if !ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return f.Flush()
}

// Package serialwriter hands whole records to an io.Writer one at a time,
// so that records written from many goroutines never interleave, even on
// a writer that is not safe for concurrent use.
package serialwriter

import (
	"io"
	"os"
	"sync"
)

// Writer serialises Write and Flush on W. The zero value writes to
// os.Stdout. A Writer is safe for concurrent use and must not be copied
// after first use.
type Writer struct {
	mu sync.Mutex // held only around W's Write and Flush
	W  io.Writer  // os.Stdout if nil; set before first use
}

func (s *Writer) out() io.Writer {
	if s.W == nil {
		return os.Stdout
	}
	return s.W
}

// Write hands p to the writer in exactly one Write call. A short write is
// io.ErrShortWrite.
func (s *Writer) Write(p []byte) error {
	w := s.out()
	s.mu.Lock()
	n, err := w.Write(p)
	s.mu.Unlock()
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	return err
}

// Flush calls the writer's Flush() error method, if it has one (as
// *bufio.Writer does), and returns its error. It never closes the writer.
func (s *Writer) Flush() error {
	f, ok := s.out().(interface{ Flush() error })
	if !ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return f.Flush()
}

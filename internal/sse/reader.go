package sse

import (
	"bytes"
	"io"
	"sync"
)

// This file is the Reader and its states:
//
//	           Handler.Event reports the last event   ──▶ ended: End(Last, nil)
//	reading ── Read reaches the end of the body       ──▶ ended: End(EOF, nil)
//	           Read fails                             ──▶ ended: End(ReadError, err)
//	           Close                                  ──▶ ended: End(Closed, nil)
//
// Close after the last event ends with Last, as Read would have. Once
// ended, Read and Close only pass on the body's results.

// maxLine bounds the line being parsed; a longer one (no event is near
// it) is skipped rather than kept.
const maxLine = 8 << 20

// Why is why a stream ended, as a Handler's End is told.
type Why int

const (
	// Last is a stream whose Handler reported its last event.
	Last Why = iota + 1
	// EOF is a stream whose body ended before its last event.
	EOF
	// ReadError is a stream whose body failed to be read before its last
	// event.
	ReadError
	// Closed is a stream closed before its last event.
	Closed
)

// Handler is told a stream's events, then its end.
//
// Event is called for each event, in order, one call at a time, with the
// event's name (empty when it had none) and its data; neither may be
// retained after it returns. It reports whether the event is the stream's
// last: then no other event is parsed and the stream ends. Event is called
// with the Reader's lock held, from Read: it must not call the Reader.
//
// End is called once, when the stream ends, after every call of Event and
// not under the Reader's lock, from the Read or Close that ended it; err is
// the read error for ReadError, else nil.
type Handler interface {
	Event(name, data []byte) (last bool)
	End(why Why, err error)
}

// Reader is an io.ReadCloser that passes on its body's bytes unchanged and
// parses them as server-sent events for its Handler. Its zero value is not
// usable: make one with NewReader. Read and Close may be called
// concurrently (a Close from a cancelled ctx racing the reader's Read);
// Read calls must not overlap one another, as for any io.Reader.
type Reader struct {
	rc io.ReadCloser
	h  Handler

	mu   sync.Mutex
	line []byte // the start of a line whose end has not arrived
	skip bool   // the line being read is past maxLine
	name []byte // the name of the event being read
	data []byte // the data of the event being read
	last bool   // h reported the last event
	done bool   // h.End has been, or is being, called
}

var _ io.ReadCloser = (*Reader)(nil)

// NewReader returns a Reader of rc that tells h its events and its end.
func NewReader(rc io.ReadCloser, h Handler) *Reader {
	return &Reader{rc: rc, h: h}
}

// Read reads from the body into p, parses what it read, and returns what
// the body's Read returned. The stream ends when this parse found the last
// event, or when the body ended or failed.
func (r *Reader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	r.mu.Lock()
	if r.done {
		r.mu.Unlock()
		return n, err
	}
	r.feed(p[:n])
	var why Why
	var endErr error
	switch {
	case r.last:
		why = Last
	case err == io.EOF:
		why = EOF
	case err != nil:
		why, endErr = ReadError, err
	}
	ended := r.finish(why != 0)
	r.mu.Unlock()
	if ended {
		r.h.End(why, endErr) // outside the lock: ending may run code the caller owns
	}
	return n, err
}

// Close closes the body, ends the stream if it has not ended, and returns
// what the body's Close returned.
func (r *Reader) Close() error {
	err := r.rc.Close()
	r.mu.Lock()
	ended, last := r.finish(true), r.last
	r.mu.Unlock()
	switch {
	case !ended:
	case last:
		r.h.End(Last, nil)
	default:
		r.h.End(Closed, nil)
	}
	return err
}

// finish marks the stream ended, when end, and reports whether this call
// did, the first to; it drops what parsing kept. r.mu is held.
func (r *Reader) finish(end bool) bool {
	if !end || r.done {
		return false
	}
	r.done = true
	r.line, r.name, r.data = nil, nil, nil
	return true
}

// feed parses p, the bytes of one Read, line by line. r.mu is held.
func (r *Reader) feed(p []byte) {
	for len(p) > 0 && !r.last {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if !r.skip && len(r.line)+len(p) <= maxLine {
				r.line = append(r.line, p...)
			} else {
				r.skip, r.line = true, r.line[:0]
			}
			return
		}
		line := p[:i]
		p = p[i+1:]
		if len(r.line) > 0 {
			r.line = append(r.line, line...)
			line = r.line
		}
		if !r.skip {
			r.onLine(bytes.TrimSuffix(line, []byte{'\r'}))
		}
		r.skip, r.line = false, r.line[:0]
	}
}

// onLine handles one line: a data line adds to the event, an event line
// names it, an empty line dispatches it. r.mu is held.
func (r *Reader) onLine(line []byte) {
	if len(line) == 0 {
		if len(r.data) > 0 {
			r.last = r.h.Event(r.name, r.data)
		}
		r.name, r.data = r.name[:0], r.data[:0]
		return
	}
	field, value, _ := bytes.Cut(line, []byte{':'})
	value = bytes.TrimPrefix(value, []byte{' '})
	switch string(field) {
	case "data":
		if len(r.data) > 0 {
			r.data = append(r.data, '\n')
		}
		r.data = append(r.data, value...)
	case "event":
		r.name = append(r.name[:0], value...)
	}
}

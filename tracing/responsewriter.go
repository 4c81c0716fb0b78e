package tracing

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// recorder is the ResponseWriter the Middleware hands to its handler: it
// notes the final status and the body size on the way through. It is used
// from the handler's goroutine, as a ResponseWriter is.
type recorder struct {
	w        http.ResponseWriter
	status   int   // final status sent; 0 until one is
	size     int64 // body bytes written
	hijacked bool
}

// wrap makes rec, a zero recorder, record w, and returns the
// ResponseWriter to hand on: one that implements http.Hijacker and
// http.Pusher exactly when w does, so handlers that test for them see what
// they would without the middleware.
func (rec *recorder) wrap(w http.ResponseWriter) http.ResponseWriter {
	rec.w = w
	_, hj := w.(http.Hijacker)
	_, push := w.(http.Pusher)
	switch {
	case hj && push:
		return hijackPushWriter{rec}
	case hj:
		return hijackWriter{rec}
	case push:
		return pushWriter{rec}
	}
	return rec
}

func (r *recorder) Header() http.Header { return r.w.Header() }

func (r *recorder) WriteHeader(code int) {
	r.w.WriteHeader(code) // net/http panics on an invalid code: nothing recorded then
	// 1xx other than 101 are informational: the final status comes later.
	if r.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		r.status = code
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.w.Write(p)
	r.size += int64(n)
	return n, err
}

func (r *recorder) WriteString(s string) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := io.WriteString(r.w, s)
	r.size += int64(n)
	return n, err
}

// ReadFrom keeps net/http's sendfile path when the original has it.
func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := r.w.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(writerOnly{r.w}, src)
	}
	r.size += n
	return n, err
}

// Flush flushes through http.ResponseController, which also finds a
// Flusher behind other wrappers' Unwrap; it does nothing where none is.
func (r *recorder) Flush() {
	if http.NewResponseController(r.w).Flush() == nil && r.status == 0 {
		r.status = http.StatusOK
	}
}

// Unwrap lets http.ResponseController reach the original writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.w }

func (r *recorder) hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := r.w.(http.Hijacker).Hijack()
	if err == nil {
		r.hijacked = true
	}
	return c, rw, err
}

func (r *recorder) push(target string, opts *http.PushOptions) error {
	return r.w.(http.Pusher).Push(target, opts)
}

// writerOnly hides every method but Write, so io.Copy does not come back
// to ReadFrom.
type writerOnly struct{ io.Writer }

type hijackWriter struct{ *recorder }

func (w hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) { return w.hijack() }

type pushWriter struct{ *recorder }

func (w pushWriter) Push(target string, opts *http.PushOptions) error { return w.push(target, opts) }

type hijackPushWriter struct{ *recorder }

func (w hijackPushWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) { return w.hijack() }
func (w hijackPushWriter) Push(target string, opts *http.PushOptions) error {
	return w.push(target, opts)
}

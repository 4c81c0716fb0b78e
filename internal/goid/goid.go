// Package goid tells which goroutine is running. flowtrace asks only where
// it is about to wait, to know that it would wait for the very goroutine it
// runs on (an exporter's call, an error handler), which no ctx can tell it
// reliably.
package goid

import (
	"bytes"
	"runtime"
	"strconv"
)

// Get returns the id of the calling goroutine, read from its stack's
// header ("goroutine 18 [running]:"). It costs about a microsecond.
func Get() int64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseInt(string(b), 10, 64)
	return id
}

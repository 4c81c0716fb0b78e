package ftopenai

import (
	"errors"
	"strconv"
	"strings"
)

// ErrStreamClosed ends the component of a stream whose body was closed (by
// the caller abandoning it, or by a cancelled ctx) before its last event.
// The component keeps what arrived before.
var ErrStreamClosed = errors.New("ftopenai: stream closed before its last event")

// ErrStreamCut ends the component of a stream that ended, or failed to be
// read, before its last event ([DONE], or response.completed). The read
// error, if any, is wrapped with it.
var ErrStreamCut = errors.New("ftopenai: stream ended before its last event")

// ErrMalformedResponse ends the component of a call whose successful
// response body was not the JSON the API sends. The SDK reports its own
// error to the caller.
var ErrMalformedResponse = errors.New("ftopenai: malformed response")

// APIError is the error a component ends with when the API answered with
// an error: an HTTP status of 400 or more, or an error event in a stream
// (StatusCode 0). Type, Code and Message are the API's error object's
// fields, empty when the body had none. Its zero value is an error with
// nothing known; it is immutable once made.
type APIError struct {
	StatusCode          int
	Type, Code, Message string
}

// Error says the status, the API's error type and code, and its message:
// "ftopenai: 429 rate_limit_exceeded (rate_limit_exceeded): Rate limit reached".
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("ftopenai: ")
	if e.StatusCode != 0 {
		b.WriteString(strconv.Itoa(e.StatusCode))
	} else {
		b.WriteString("stream error")
	}
	if e.Type != "" {
		b.WriteString(" " + e.Type)
	}
	if e.Code != "" {
		b.WriteString(" (" + e.Code + ")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

package ftanthropic

import (
	"errors"
	"strconv"
	"strings"
)

// ErrStreamClosed ends the component of a stream whose body was closed
// before its message_stop event. The component keeps what arrived.
var ErrStreamClosed = errors.New("ftanthropic: stream closed before its last event")

// ErrStreamCut ends the component of a stream that ended, or failed to be
// read, before its message_stop event; a read error is wrapped with it.
var ErrStreamCut = errors.New("ftanthropic: stream ended before its last event")

// ErrMalformedResponse ends the component of a call whose successful
// response body was not the JSON the API sends.
var ErrMalformedResponse = errors.New("ftanthropic: malformed response")

// APIError is the error a component ends with when the API answered with
// an error: an HTTP status of 400 or more, or an error event in a stream
// (StatusCode 0). Type and Message are the API's error object's. Its zero
// value is an error with nothing known; it is immutable once made.
type APIError struct {
	StatusCode    int
	Type, Message string
}

// Error says the status, the API's error type and its message:
// "ftanthropic: 429 rate_limit_error: Number of request tokens has exceeded…".
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("ftanthropic: ")
	if e.StatusCode != 0 {
		b.WriteString(strconv.Itoa(e.StatusCode))
	} else {
		b.WriteString("stream error")
	}
	if e.Type != "" {
		b.WriteString(" " + e.Type)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

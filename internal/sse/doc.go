// Package sse reads a server-sent-events stream as it flows to someone
// else: a Reader wraps a response body, passes every byte on unchanged,
// and parses the event lines on the way, so that a tracer learns what a
// streamed answer said without holding it whole a second time and without
// changing what the SDK reading it sees.
//
// # Parsing
//
// Lines end with LF or CRLF. A data field adds its value (one leading space
// removed) to the event's data, several joined with LF; an event field
// names the event; comments (lines beginning with a colon) and other fields
// are ignored. An empty line dispatches the event, if it has data. Only the
// line whose end has not arrived and the event being read are kept; a line
// that grows past 8 MiB before its end arrives is skipped whole.
//
// # Ending
//
// A stream ends once, at the first of: the event its Handler reports as
// the last, the end of the body, a read error, or Close. The Handler's End
// is told which. See Reader.
package sse

package tracing

import "encoding/hex"

// W3C Trace Context (https://www.w3.org/TR/trace-context/): the traceparent
// header names the caller's trace, its span and its sampling decision.
const (
	traceparentHeader = "traceparent"
	tracestateHeader  = "tracestate"

	// traceparentLen is the length of a version 00 traceparent.
	traceparentLen = 55
	// maxTraceparentLen bounds what is read of a future version's header,
	// which may append fields after the four of version 00: a longer
	// traceparent is ignored, as malformed.
	maxTraceparentLen = 512
)

// traceParent is a parsed traceparent: the caller's trace, the caller's
// span (the parent of the span that continues it), the sampled flag and
// Level 2's random flag (the right-most 7 bytes of the trace ID are
// random). The zero value is invalid.
type traceParent struct {
	traceID [16]byte
	spanID  [8]byte
	sampled bool
	random  bool
}

// parseTraceparent parses one traceparent value. It reports false for
// anything the specification says to ignore: a length other than 55 for
// version 00, version ff, a version above 00 shorter than 55 or not
// followed by '-', hex that is not lower-case, an all-zero trace or span
// ID. It never allocates.
func parseTraceparent(s string) (traceParent, bool) {
	tp, ok := parseTraceparentFields(s)
	if !ok {
		return traceParent{}, false
	}
	return tp, true
}

func parseTraceparentFields(s string) (traceParent, bool) {
	var tp traceParent
	if len(s) < traceparentLen || len(s) > maxTraceparentLen {
		return tp, false
	}
	ver, ok := hexByte(s[0], s[1])
	if !ok || ver == 0xff {
		return tp, false
	}
	if s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return tp, false
	}
	if ver == 0 && len(s) != traceparentLen {
		return tp, false
	}
	if len(s) > traceparentLen && s[traceparentLen] != '-' {
		return tp, false
	}
	if !decodeHex(tp.traceID[:], s[3:35]) || !decodeHex(tp.spanID[:], s[36:52]) {
		return tp, false
	}
	flags, ok := hexByte(s[53], s[54])
	if !ok {
		return tp, false
	}
	if tp.traceID == ([16]byte{}) || tp.spanID == ([8]byte{}) {
		return tp, false
	}
	tp.sampled = flags&0x01 != 0
	tp.random = flags&0x02 != 0
	return tp, true
}

// String formats tp as a version 00 traceparent with only the sampled and
// random flags among the trace flags: the others are not defined, and a
// flag not understood is not passed on.
func (tp traceParent) String() string {
	var b [traceparentLen]byte
	return string(tp.appendTo(b[:0]))
}

// appendTo appends tp's String to dst.
func (tp traceParent) appendTo(dst []byte) []byte {
	n := len(dst)
	dst = append(dst, make([]byte, traceparentLen)...)
	b := dst[n:]
	b[0], b[1], b[2] = '0', '0', '-'
	hex.Encode(b[3:35], tp.traceID[:])
	b[35] = '-'
	hex.Encode(b[36:52], tp.spanID[:])
	b[52], b[53] = '-', '0'
	var flags byte
	if tp.sampled {
		flags |= 0x01
	}
	if tp.random {
		flags |= 0x02
	}
	b[54] = "0123"[flags]
	return dst
}

// decodeHex decodes lower-case hex digits into dst, which has room for
// exactly len(src)/2 bytes. Upper-case hex is invalid in traceparent.
func decodeHex(dst []byte, src string) bool {
	for i := range dst {
		b, ok := hexByte(src[2*i], src[2*i+1])
		if !ok {
			return false
		}
		dst[i] = b
	}
	return true
}

func hexByte(hi, lo byte) (byte, bool) {
	h, ok1 := lowerHexDigit(hi)
	l, ok2 := lowerHexDigit(lo)
	return h<<4 | l, ok1 && ok2
}

func lowerHexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

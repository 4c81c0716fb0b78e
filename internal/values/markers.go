package values

import (
	"fmt"
	"strconv"
)

// Markers replace values that were masked or cut. Markers that replace a
// value start with "!"; what was cut from a string, map or slice is
// described in text that starts with "…".
const (
	// Masked replaces the value of a masked key or field, and everything
	// under it.
	Masked = "*****"
	// MarkerCycle replaces a map, slice or pointer that contains itself.
	MarkerCycle = "!cycle"
	// MarkerDepth replaces a map, slice, array or struct nested deeper than
	// MaxDepth, or a chain of more than MaxDepth pointers.
	MarkerDepth = "!max depth"
	// MarkerBytes replaces a value that did not fit in the event's
	// MaxBytes, and every value after it.
	MarkerBytes = "!max event bytes"
	// MarkerKey is the key of the entry that stands for the entries cut from
	// a map or struct; its value says how many were cut, and why.
	MarkerKey = "…"
)

const bytesReason = ": max event bytes"

// cutItems describes n entries cut from a map, slice or array.
func cutItems(n int, budget bool) string {
	s := "(truncated " + strconv.Itoa(n) + " more items"
	if budget {
		s += bytesReason
	}
	return s + ")"
}

// cutString is the suffix of a string of which n bytes were cut.
func cutString(n int, budget bool) string {
	s := "…(truncated " + formatSize(n)
	if budget {
		s += bytesReason
	}
	return s + ")"
}

// formatSize formats a size in bytes for people: "512 B", "48.9 MiB".
func formatSize(n int) string {
	const units = "KMGTPE"
	if n < 1<<10 {
		return strconv.Itoa(n) + " B"
	}
	f, u := float64(n)/(1<<10), 0
	for f >= 1<<10 && u < len(units)-1 {
		f /= 1 << 10
		u++
	}
	return strconv.FormatFloat(f, 'f', 1, 64) + " " + units[u:u+1] + "iB"
}

// panicMarker describes a panic recovered from the caller's method.
func panicMarker(method string, p any) string {
	return "!panic in " + method + ": " + fmt.Sprint(p)
}

// Truncated is the suffix of a string of which n bytes were cut, for a
// string cut outside a snapshot (a stream joined up to MaxString):
// "…(truncated 1.2 KiB)".
func Truncated(n int) string { return cutString(n, false) }

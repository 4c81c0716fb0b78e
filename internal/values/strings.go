package values

import (
	"encoding/hex"
	"strconv"
	"strings"
	"unicode/utf8"
)

// jsonSize is the size in a JSON string of each ASCII byte, as written by
// encoding/json: escapes for quotes, backslashes, control characters and
// the HTML-sensitive <, > and &.
var jsonSize = func() (t [utf8.RuneSelf]uint8) {
	for c := range t {
		switch {
		case c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t':
			t[c] = 2
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			t[c] = 6
		default:
			t[c] = 1
		}
	}
	return t
}()

// measure scans the longest prefix of s that is at most max bytes long,
// ends on a rune boundary and has a JSON size (quotes excluded) of at most
// limit. It returns the prefix length n, its JSON size, whether it is
// valid UTF-8, and whether the scan stopped at limit rather than at max or
// at the end of s. Invalid bytes are counted as the 3 bytes of U+FFFD.
func measure(s string, max, limit int) (n, size int, valid, atLimit bool) {
	cut := len(s) > max
	if cut {
		s = s[:max]
	}
	valid = true
	for n < len(s) {
		c := s[n]
		if c < utf8.RuneSelf {
			sz := int(jsonSize[c])
			if size+sz > limit {
				return n, size, valid, true
			}
			size += sz
			n++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[n:])
		sz := w
		switch {
		case r == utf8.RuneError && w == 1:
			if cut && !utf8.FullRuneInString(s[n:]) {
				// A rune split by max: end before it.
				return n, size, valid, false
			}
			valid, sz = false, 3
		case r == '\u2028' || r == '\u2029':
			sz = 6
		}
		if size+sz > limit {
			return n, size, valid, true
		}
		size += sz
		n += w
	}
	return n, size, valid, false
}

// str snapshots s, charging the budget. It returns s itself and true when s
// is kept whole; strings are immutable, so sharing them is safe. A string
// over MaxString or over the budget is cut before anything is copied, and
// the kept prefix is copied so that the snapshot does not pin the caller's
// backing array.
func (w *walker) str(s string) (string, bool) {
	if c := w.clean(s); c != s {
		out, _ := w.strCut(c)
		return out, false
	}
	return w.strCut(s)
}

// strCut is str for a string already cleaned of secrets.
func (w *walker) strCut(s string) (string, bool) {
	left := w.left() - 2 // quotes
	if left < 0 {
		return w.over(), false
	}
	n, size, valid, atLimit := measure(s, w.s.maxString, left)
	if n == len(s) {
		w.used += size + 2
		if !valid {
			return strings.ToValidUTF8(s, "\uFFFD"), false
		}
		return s, true
	}
	if atLimit {
		// Cut by the budget: leave room for the suffix, whose length varies
		// by a few bytes with the size it reports.
		reserve := len(cutString(len(s), true)) + 4
		if left < reserve {
			return w.over(), false
		}
		n, size, valid, _ = measure(s, w.s.maxString, left-reserve)
	}
	suffix := cutString(len(s)-n, atLimit)
	w.used += size + 2 + len(suffix)
	if atLimit {
		w.exhaust()
	}
	prefix := s[:n]
	if !valid {
		prefix = strings.ToValidUTF8(prefix, "\uFFFD")
	}
	return prefix + suffix, false // a fresh copy: the caller's array is not kept
}

// strValue is str for a string the snapshot owns, boxed.
func (w *walker) strValue(s string) any {
	out, _ := w.str(s)
	return out
}

// key snapshots a map key or field name and returns it with the JSON size
// of its entry (quotes, colon and comma). Keys are not cut by the budget,
// which is charged by the caller.
func (w *walker) key(k string) (string, int) {
	k = w.clean(k)
	n, size, valid, _ := measure(k, w.s.maxString, maxInt)
	if n == len(k) {
		if !valid {
			k = strings.ToValidUTF8(k, "\uFFFD")
		}
		return k, size + 4
	}
	suffix := cutString(len(k)-n, false)
	prefix := k[:n]
	if !valid {
		prefix = strings.ToValidUTF8(prefix, "\uFFFD")
	}
	return prefix + suffix, size + len(suffix) + 4
}

const maxInt = int(^uint(0) >> 1)

// bytesShown bounds the bytes of a []byte shown in its marker.
const bytesShown = 32

// bytesWindow is how many bytes of a []byte are read to show bytesShown:
// the text is cleaned (see clean) before it is cut, so that a secret the
// cut would split is found whole.
const bytesWindow = bytesShown + 96

// bytesMarker describes a byte slice or array of length n by its first
// bytes p (up to bytesWindow of them): quoted if the first bytesShown are
// printable text, cleaned of secrets, in hex otherwise.
func (w *walker) bytesMarker(typ string, n int, p []byte) string {
	head := p[:min(len(p), bytesShown)]
	cut := n > len(head)
	text := head
	if cut {
		// Do not let a rune split by the cut turn text into hex.
		text = validPrefix(text)
	}
	var b strings.Builder
	b.WriteString("!" + typ + " len=" + strconv.Itoa(n) + " ")
	if printable(text) {
		shown := string(text)
		cut = n > len(text)
		if window := validPrefix(p); len(window) > 0 {
			if c := w.clean(string(window)); c != string(window) {
				// Cleaned: show the first bytesShown bytes of the cleaned text.
				shown = string(validPrefix([]byte(c[:min(len(c), bytesShown)])))
				cut = len(shown) < len(c) || n > len(window)
			}
		}
		b.WriteString(strconv.Quote(shown))
	} else {
		b.WriteString("0x" + hex.EncodeToString(head))
	}
	if cut {
		b.WriteString("…")
	}
	return b.String()
}

// validPrefix drops the bytes of a rune split at the end of p.
func validPrefix(p []byte) []byte {
	for i := 0; i < utf8.UTFMax-1 && len(p) > 0 && !utf8.Valid(p); i++ {
		p = p[:len(p)-1]
	}
	return p
}

func printable(p []byte) bool {
	if !utf8.Valid(p) {
		return false
	}
	for _, r := range string(p) {
		if !strconv.IsPrint(r) && r != '\n' && r != '\t' && r != '\r' {
			return false
		}
	}
	return true
}

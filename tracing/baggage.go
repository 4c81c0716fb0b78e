package tracing

import (
	"strings"
	"unicode/utf8"
)

// Baggage keys of a run's identity (W3C Baggage,
// https://www.w3.org/TR/baggage/). The Transport sends BaggageRunID always,
// and BaggageSessionID and BaggageUserID only under WithIdentityBaggage; the
// Middleware reads all three.
const (
	BaggageRunID     = "flowtrace.run.id"
	BaggageSessionID = "flowtrace.session.id"
	BaggageUserID    = "flowtrace.user.id"
)

const (
	baggageHeader = "baggage"
	// maxBaggageBytes and maxBaggageMembers are the W3C limits. A header
	// past either is ignored as a whole when read; on write, flowtrace's
	// members are left out rather than sent past them.
	maxBaggageBytes   = 8192
	maxBaggageMembers = 180
	// maxIdentityLen bounds a run, session or user ID read from baggage,
	// after percent-decoding. A longer value is ignored.
	maxIdentityLen = 256
)

// identity is what flowtrace carries in baggage. The zero value carries
// nothing.
type identity struct {
	runID, sessionID, userID string
}

// parseBaggage reads flowtrace's members from the lines of a baggage
// header, taken in order as one comma-separated list. It reports false, and
// returns nothing, when the header is absent, longer than 8,192 bytes, has
// more than 180 members, or has a member that is not valid W3C baggage
// (key not a token, a value byte outside baggage-octet, a bad percent
// escape, a malformed property). An identity value that is empty, longer
// than 256 bytes once decoded, not UTF-8 or holding a control character
// is left out; of a key given twice, the first value counts.
//
// It allocates only the strings it returns: at most three, of at most
// 256 bytes each.
func parseBaggage(lines []string) (identity, bool) {
	if len(lines) == 0 {
		return identity{}, false
	}
	size := len(lines) - 1 // the commas that join the lines
	for _, l := range lines {
		size += len(l)
		if size > maxBaggageBytes {
			return identity{}, false
		}
	}
	var raw [3]string // the three values as they are in the header
	members := 0
	for _, line := range lines {
		for rest := line; rest != ""; {
			var m string
			m, rest, _ = strings.Cut(rest, ",")
			m = trimOWS(m)
			if m == "" {
				continue // tolerated, as in the lists of RFC 9110
			}
			if members++; members > maxBaggageMembers {
				return identity{}, false
			}
			key, value, ok := parseMember(m)
			if !ok {
				return identity{}, false
			}
			if i := identityIndex(key); i >= 0 && raw[i] == "" {
				raw[i] = value
			}
		}
	}
	var id identity
	id.runID = decodeIdentity(raw[0])
	id.sessionID = decodeIdentity(raw[1])
	id.userID = decodeIdentity(raw[2])
	return id, true
}

// identityIndex returns key's index in identity order, or -1.
func identityIndex(key string) int {
	switch key {
	case BaggageRunID:
		return 0
	case BaggageSessionID:
		return 1
	case BaggageUserID:
		return 2
	}
	return -1
}

// parseMember checks one list member, `key OWS "=" OWS value *( OWS ";"
// OWS property )`, already trimmed, and returns its key and raw value.
func parseMember(m string) (key, value string, ok bool) {
	kv, props, hasProps := strings.Cut(m, ";")
	key, value, found := strings.Cut(kv, "=")
	if !found {
		return "", "", false
	}
	key, value = trimOWS(key), trimOWS(value)
	if !isToken(key) || !isValue(value) {
		return "", "", false
	}
	for hasProps {
		var p string
		p, props, hasProps = strings.Cut(props, ";")
		pk, pv, hasValue := strings.Cut(p, "=")
		if !isToken(trimOWS(pk)) || hasValue && !isValue(trimOWS(pv)) {
			return "", "", false
		}
	}
	return key, value, true
}

// decodeIdentity percent-decodes a value already checked by isValue, and
// returns "" for a value flowtrace does not accept as an ID. It decodes on
// the stack and allocates only the string it returns.
func decodeIdentity(v string) string {
	if v == "" || len(v) > 3*maxIdentityLen {
		return ""
	}
	var buf [maxIdentityLen]byte
	n := 0
	for i := 0; i < len(v); i++ {
		if n == len(buf) {
			return ""
		}
		c := v[i]
		if c == '%' {
			c, _ = hexByteAnyCase(v[i+1], v[i+2])
			i += 2
			if c < 0x20 || c == 0x7f {
				return ""
			}
		}
		buf[n] = c
		n++
	}
	if !utf8.Valid(buf[:n]) {
		return ""
	}
	return string(buf[:n])
}

// trimOWS trims optional white space (space and horizontal tab).
func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// isToken reports whether s is a non-empty RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

func isTchar(c byte) bool { return tchars[c] }

// tchars marks the bytes of an RFC 9110 token: letters, digits and
// "!#$%&'*+-.^_`|~".
var tchars = func() (t [256]bool) {
	for c := range 256 {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			t[c] = true
		}
	}
	for _, c := range []byte("!#$%&'*+-.^_`|~") {
		t[c] = true
	}
	return t
}()

// isValue reports whether s is a W3C baggage value: baggage-octets, with
// '%' only as the start of a percent escape.
func isValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) {
				return false
			}
			if _, ok := hexByteAnyCase(s[i+1], s[i+2]); !ok {
				return false
			}
			i += 2
			continue
		}
		if !isBaggageOctet(c) {
			return false
		}
	}
	return true
}

// isBaggageOctet reports whether c may appear unescaped in a value:
// %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E.
func isBaggageOctet(c byte) bool {
	return c == 0x21 || 0x23 <= c && c <= 0x2b || 0x2d <= c && c <= 0x3a ||
		0x3c <= c && c <= 0x5b || 0x5d <= c && c <= 0x7e
}

func hexByteAnyCase(hi, lo byte) (byte, bool) {
	h, ok1 := hexDigitAnyCase(hi)
	l, ok2 := hexDigitAnyCase(lo)
	return h<<4 | l, ok1 && ok2
}

func hexDigitAnyCase(c byte) (byte, bool) {
	if 'A' <= c && c <= 'F' {
		return c - 'A' + 10, true
	}
	return lowerHexDigit(c)
}

// appendMember appends `key=value`, value percent-encoded: every byte
// that is not a baggage-octet, and '%' itself.
func appendMember(dst []byte, key, value string) []byte {
	const digits = "0123456789ABCDEF"
	dst = append(dst, key...)
	dst = append(dst, '=')
	for i := 0; i < len(value); i++ {
		c := value[i]
		if isBaggageOctet(c) && c != '%' {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', digits[c>>4], digits[c&0x0f])
	}
	return dst
}

// mergeBaggage returns the baggage header to send: flowtrace's members of
// id first (the run ID, and the session and user IDs when withIdentity),
// then the members of the existing header lines except any flowtrace
// member, which the Transport owns. It reports false, and the caller keeps
// the existing lines as they are, when the result would pass the W3C
// limits: the caller's baggage is never cut short for flowtrace's.
func mergeBaggage(existing []string, id identity, withIdentity bool) (string, bool) {
	buf, ok := appendMergedBaggage(make([]byte, 0, 128), existing, id, withIdentity)
	if !ok {
		return "", false
	}
	return string(buf), true
}

// appendMergedBaggage appends to dst the baggage header mergeBaggage
// returns. It reports false, and returns dst as it was, when mergeBaggage
// would.
func appendMergedBaggage(dst []byte, existing []string, id identity, withIdentity bool) ([]byte, bool) {
	start := len(dst)
	buf := dst
	members := 0
	add := func(key, value string) {
		if value == "" {
			return
		}
		if members > 0 {
			buf = append(buf, ',')
		}
		buf = appendMember(buf, key, value)
		members++
	}
	add(BaggageRunID, id.runID)
	if withIdentity {
		add(BaggageSessionID, id.sessionID)
		add(BaggageUserID, id.userID)
	}
	for _, line := range existing {
		for rest := line; rest != ""; {
			var m string
			m, rest, _ = strings.Cut(rest, ",")
			m = trimOWS(m)
			if m == "" || identityIndex(memberKey(m)) >= 0 {
				continue
			}
			if len(buf)-start+1+len(m) > maxBaggageBytes || members+1 > maxBaggageMembers {
				return dst[:start], false
			}
			if members > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, m...)
			members++
		}
	}
	if members == 0 || len(buf)-start > maxBaggageBytes {
		return dst[:start], false
	}
	return buf, true
}

// memberKey returns the key of a list member, whether or not the member is
// valid.
func memberKey(m string) string {
	kv, _, _ := strings.Cut(m, ";")
	k, _, _ := strings.Cut(kv, "=")
	return trimOWS(k)
}

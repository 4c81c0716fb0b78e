package values

import "slices"

// Keys are masked by their words, not by substrings, so that "max_tokens"
// and "TokenUsage" (counts) are kept while "access_token" (a secret) is
// masked. A key is split into words at every ASCII byte that is neither a
// letter nor a digit, at a lower-case letter or digit followed by an
// upper-case one ("apiKey"), before the last upper-case letter of a run
// followed by a lower-case one ("APIKey"), and between letters and digits
// ("password2"). Words are compared with ASCII case folded; bytes beyond
// ASCII belong to words and are compared exactly.

// secretWords mask a key wherever they appear among its words.
var secretWords = []string{
	"password", "passwd", "secret", "secrets", "credential", "credentials",
	"authorization", "cookie", "apikey",
}

// lastPairs mask a key when they are its last two words, or glued as its
// last word ("privatekey"), as lastGlued spells them.
var (
	lastPairs = [][2]string{{"api", "key"}, {"private", "key"}, {"access", "key"}, {"secret", "key"}}
	lastGlued = func() (g []string) {
		for _, p := range lastPairs {
			g = append(g, p[0]+p[1])
		}
		return g
	}()
)

// defaultFragments end a word of every key the default rules mask,
// ASCII case folded: a secret word is a word, the token rule's last word
// ends with token, the last pairs' last word with key ("apikey" too). A
// key in which none of them ends a word is kept without being split into
// words.
var defaultFragments = []string{
	"password", "passwd", "secret", "secrets", "credential", "credentials",
	"authorization", "cookie", "token", "key",
}

// fragIndex finds keys that may be masked: those in which a fragment, a
// default one or a redact key, folded, with ASCII bytes that are neither
// letters nor digits skipped, ends where a word of the key ends. That is
// true of every masked key: the words that mask it by the default rules
// are consecutive bytes of it, and those that spell a redact key are
// whole words separated only by such bytes. Most keys ("q", "model",
// "text", "max_tokens") have no fragment starting at any byte or ending
// a word, which costs a table lookup a byte.
type fragIndex struct {
	// heads[c] is 1 + the index in frags of the first fragment that
	// starts with c folded, or 0 when none does.
	heads [256]int32
	frags []string // folded, grouped by their first byte
}

func newFragIndex(frags ...[]string) fragIndex {
	var x fragIndex
	for _, fs := range frags {
		for _, f := range fs {
			if f != "" && !slices.Contains(x.frags, f) {
				x.frags = append(x.frags, f)
			}
		}
	}
	slices.SortStableFunc(x.frags, func(a, b string) int { return int(a[0]) - int(b[0]) })
	for i := len(x.frags) - 1; i >= 0; i-- {
		c := x.frags[i][0]
		x.heads[c] = int32(i + 1)
		if isLower(c) {
			x.heads[c-'a'+'A'] = int32(i + 1)
		}
	}
	return x
}

// mayMask reports whether a fragment ends a word of key. It is false only
// for keys that masked would keep.
func (x *fragIndex) mayMask(key string) bool {
	for i := 0; i < len(key); i++ {
		h := x.heads[key[i]]
		if h == 0 {
			continue
		}
		c := fold(key[i])
		for _, f := range x.frags[h-1:] {
			if f[0] != c {
				break
			}
			if end, ok := holds(key, i+1, f[1:]); ok && wordEnd(key, end) {
				return true
			}
		}
	}
	return false
}

// holds reports whether key from i on starts with frag, folded, ASCII
// bytes that are neither letters nor digits skipped, and returns the end
// of the match.
func holds(key string, i int, frag string) (int, bool) {
	j := 0
	for ; i < len(key) && j < len(frag); i++ {
		c := key[i]
		if c < 0x80 && !isAlnum(c) {
			continue
		}
		if fold(c) != frag[j] {
			return 0, false
		}
		j++
	}
	return i, j == len(frag)
}

// wordEnd reports whether a word of key that holds key[i-1] ends at i, as
// words splits it.
func wordEnd(key string, i int) bool {
	return i == len(key) || (key[i] < 0x80 && !isAlnum(key[i])) || boundary(key, i)
}

// span is a word of a key: key[a:b].
type span struct{ a, b int }

// words splits key into words, appending them to buf.
func words(key string, buf []span) []span {
	start := -1
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c < 0x80 && !isAlnum(c) {
			if start >= 0 {
				buf = append(buf, span{start, i})
				start = -1
			}
			continue
		}
		if start >= 0 && boundary(key, i) {
			buf = append(buf, span{start, i})
			start = -1
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		buf = append(buf, span{start, len(key)})
	}
	return buf
}

// boundary reports whether a new word starts at key[i], inside a word.
func boundary(key string, i int) bool {
	p, c := key[i-1], key[i]
	switch {
	case isDigit(p) != isDigit(c) && p < 0x80 && c < 0x80:
		return true
	case isUpper(c) && (isLower(p) || isDigit(p)):
		return true
	case isUpper(c) && isUpper(p) && i+1 < len(key) && isLower(key[i+1]):
		return true
	}
	return false
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isAlnum(c byte) bool { return isUpper(c) || isLower(c) || isDigit(c) }

// is reports whether word w of key is lower, ASCII case folded.
func is(key string, w span, lower string) bool {
	if w.b-w.a != len(lower) {
		return false
	}
	for i := range len(lower) {
		if fold(key[w.a+i]) != lower[i] {
			return false
		}
	}
	return true
}

// numeric reports whether a word is made of digits: such words are skipped
// by the rules that look at the last words ("token_2" is a token).
func numeric(key string, w span) bool { return isDigit(key[w.a]) }

// maskedRules is masked without the cache: the rules applied to key.
func (s *Snapshotter) maskedRules(key string) bool {
	if !s.index.mayMask(key) {
		return false
	}
	return s.maskedWords(key)
}

// maskedWords is masked without the index: it splits key into words.
func (s *Snapshotter) maskedWords(key string) bool {
	var buf [16]span
	ws := words(key, buf[:0])
	if len(ws) == 0 {
		return false
	}
	for _, k := range s.keys {
		if spelled(key, ws, k) {
			return true
		}
	}
	if len(s.allow) > 0 && s.allowed(key) {
		return false
	}
	return defaultMasked(key, ws)
}

// defaultMasked applies the default rules to the words ws of key.
func defaultMasked(key string, ws []span) bool {
	var last, prev span
	n := 0
	for _, w := range ws {
		for _, sw := range secretWords {
			if is(key, w, sw) {
				return true
			}
		}
		if !numeric(key, w) {
			prev, last = last, w
			n++
		}
	}
	if n == 0 {
		return false
	}
	if is(key, last, "token") || endsWith(key, last, "token") {
		return true
	}
	for i, p := range lastPairs {
		if is(key, last, lastGlued[i]) || (n > 1 && is(key, prev, p[0]) && is(key, last, p[1])) {
			return true
		}
	}
	return false
}

// endsWith reports whether a word longer than suffix ends with it, glued
// ("accesstoken", "authtoken").
func endsWith(key string, w span, suffix string) bool {
	return w.b-w.a > len(suffix) && is(key, span{w.b - len(suffix), w.b}, suffix)
}

// spelled reports whether consecutive words of key, glued and folded,
// spell frag, a redact key folded by foldKey: "session_key" is spelled by
// "X-Session-Key", "SessionKey" and "sessionkey" alike.
func spelled(key string, ws []span, frag string) bool {
	for i := range ws {
		j := 0 // bytes of frag matched
		for _, w := range ws[i:] {
			n := w.b - w.a
			if j+n > len(frag) || !is(key, w, frag[j:j+n]) {
				break
			}
			j += n
			if j == len(frag) {
				return true
			}
		}
	}
	return false
}

// allowed reports whether key, folded, is one of the allowed keys.
func (s *Snapshotter) allowed(key string) bool {
	for _, a := range s.allow {
		if spells(key, a) {
			return true
		}
	}
	return false
}

// spells reports whether key, folded by foldKey, equals frag.
func spells(key, frag string) bool {
	j := 0
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c < 0x80 && !isAlnum(c) {
			continue
		}
		if j >= len(frag) || fold(c) != frag[j] {
			return false
		}
		j++
	}
	return j == len(frag)
}

// fold lowers an ASCII letter.
func fold(c byte) byte {
	if isUpper(c) {
		return c + 'a' - 'A'
	}
	return c
}

// foldKey folds a configured key: ASCII letters lowered, ASCII bytes that
// are neither letters nor digits removed.
func foldKey(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || isAlnum(c) {
			b = append(b, fold(c))
		}
	}
	return string(b)
}

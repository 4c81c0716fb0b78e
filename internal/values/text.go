package values

import (
	"net/url"
	"strings"
)

// clean masks what a recorded string can hold outside of keys: the
// secrets of the run already seen, the user info of URLs, and the values
// of masked keys of JSON text. Text that holds none of them is returned as
// it is, without allocating; a string without ':' costs one scan.
func (w *walker) clean(s string) string {
	if w.seen != nil {
		s = w.seen.Scrub(s)
	}
	if strings.IndexByte(s, ':') < 0 {
		return s
	}
	if strings.Contains(s, "://") {
		s = w.cleanURLs(s)
	}
	if strings.Contains(s, `":`) {
		s = w.cleanJSON(s)
	}
	return s
}

// authorityEnd is the set of bytes that end a URL's authority in text.
const authorityEnd = "/?#\"'<>\\ \t\r\n`"

// cleanURLs masks the user info of every "scheme://user:password@host" in
// s: the password when there is one ("app:*****@db"), the whole user info
// otherwise, which is often a token ("https://*****@github.com").
func (w *walker) cleanURLs(s string) string {
	pos := 0
	for {
		i := strings.Index(s[pos:], "://")
		if i < 0 {
			return s
		}
		start := pos + i + 3
		end := start
		for end < len(s) && strings.IndexByte(authorityEnd, s[end]) < 0 {
			end++
		}
		at := strings.LastIndexByte(s[start:end], '@')
		if at <= 0 {
			pos = end
			continue
		}
		user := s[start : start+at]
		from := start
		if name, _, ok := strings.Cut(user, ":"); ok {
			from += len(name) + 1
		}
		w.rememberString(s[from : start+at])
		if p, err := url.PathUnescape(s[from : start+at]); err == nil {
			w.rememberString(p)
		}
		s = s[:from] + Masked + s[start+at:]
		pos = from + len(Masked) + 1
	}
}

// cleanJSON masks the values of masked keys in JSON text, or in JSON text
// quoted once more (`{\"api_key\":\"…\"}`), possibly cut: a value that
// runs to the end of s is masked to the end.
func (w *walker) cleanJSON(s string) string {
	pos := 0
	for {
		i := strings.Index(s[pos:], `":`)
		if i < 0 {
			return s
		}
		q := pos + i // the quote that closes the key
		pos = q + 2
		quote := `"`
		keyEnd := q
		if q > 0 && s[q-1] == '\\' {
			quote, keyEnd = `\"`, q-1
		}
		k := strings.LastIndex(s[:keyEnd], quote)
		if k < 0 || !w.s.masked(s[k+len(quote):keyEnd]) {
			continue
		}
		v := q + 2
		for v < len(s) && (s[v] == ' ' || s[v] == '\t') {
			v++
		}
		if v == len(s) {
			return s
		}
		var from, to int
		terminated := true
		switch {
		case strings.HasPrefix(s[v:], quote):
			from = v + len(quote)
			to = stringEnd(s, from, quote)
			if to < 0 {
				to, terminated = len(s), false
			}
		case s[v] == '{' || s[v] == '[':
			from = v
			to = bracketEnd(s, v)
		default:
			from = v
			to = v
			for to < len(s) && strings.IndexByte(",}] \t\r\n\\", s[to]) < 0 {
				to++
			}
		}
		if terminated {
			w.rememberString(s[from:to])
		}
		s = s[:from] + Masked + s[to:]
		pos = from + len(Masked)
	}
}

// stringEnd returns the index of the quote that ends the JSON string
// starting at from, or -1.
func stringEnd(s string, from int, quote string) int {
	if quote == `"` {
		for i := from; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '"':
				return i
			}
		}
		return -1
	}
	if i := strings.Index(s[from:], quote); i >= 0 {
		return from + i
	}
	return -1
}

// bracketEnd returns the index after the bracket that closes the one at
// from, or len(s).
func bracketEnd(s string, from int) int {
	depth := 0
	for i := from; i < len(s); i++ {
		switch s[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(s)
}

// urlString records a URL with its user info masked: the password when it
// has one, the whole user info otherwise.
func (w *walker) urlString(u *url.URL) string {
	c := *u
	if c.User == nil {
		return c.String()
	}
	name := c.User.Username()
	pw, hasPW := c.User.Password()
	c.User = nil
	s := c.String()
	info := Masked + "@"
	if hasPW {
		w.rememberString(pw)
		info = url.User(name).String() + ":" + info
	} else {
		w.rememberString(name)
	}
	if i := strings.Index(s, "//"); i >= 0 {
		return s[:i+2] + info + s[i+2:]
	}
	return "//" + info + s
}

// Clean returns s cleaned as a string value of a snapshot is (see
// Masking): the secrets in b.Seen scrubbed, the user info of URLs and the
// values of masked keys of JSON text masked, what it masked reported in
// b.Found. It neither cuts s nor charges b: it is for strings a caller
// records outside any value (a name, a label), which it bounds itself.
// Text that holds nothing to clean is returned as it is, without
// allocating.
func (s *Snapshotter) Clean(b *Budget, v string) string {
	if (b == nil || b.Seen == nil) && strings.IndexByte(v, ':') < 0 {
		return v
	}
	w := walker{s: s} // no Redactor: it is asked about values, not names
	if w.s == nil {
		w.s = defaultSnapshotter
	}
	if b != nil {
		w.seen, w.collect, w.found = b.Seen, true, b.found
	}
	out := w.clean(v)
	if b != nil {
		b.found = w.found
	}
	return out
}

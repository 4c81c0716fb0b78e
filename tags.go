package flowtrace

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on run tags, which are labels, not payload.
const (
	MaxTags   = 64  // tags kept per run; the rest are dropped
	MaxTagLen = 256 // bytes kept of each tag
)

// copyTags returns the caller's tags as the run keeps them: copied, empty
// ones dropped, each valid UTF-8 and at most MaxTagLen bytes, at most
// MaxTags of them; nil when none is left.
func copyTags(tags []string) []string {
	var out []string
	for _, t := range tags {
		if len(out) == MaxTags {
			break
		}
		t = cleanLabel(t)
		if t == "" {
			continue
		}
		if out == nil {
			out = make([]string, 0, min(len(tags), MaxTags))
		}
		out = append(out, strings.Clone(t))
	}
	return out
}

// cleanLabel returns v trimmed, its invalid UTF-8 replaced by U+FFFD, and
// cut to at most MaxTagLen bytes at a character boundary. It cuts first,
// to bound the work on a huge v, and again after the replacement, which
// can make a string longer (each invalid byte becomes three).
func cleanLabel(v string) string {
	t := strings.ToValidUTF8(strings.TrimSpace(cutUTF8(v, MaxTagLen)), "\uFFFD")
	return strings.TrimSpace(cutUTF8(t, MaxTagLen))
}

// cutUTF8 returns the longest prefix of s of at most n bytes that does not
// split a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func itoa(n int) string { return strconv.Itoa(n) }

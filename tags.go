package flowtrace

import (
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
		if len(t) > MaxTagLen {
			cut := MaxTagLen
			for cut > 0 && !utf8.RuneStart(t[cut]) { // never split a character
				cut--
			}
			t = t[:cut]
		}
		t = strings.ToValidUTF8(strings.TrimSpace(t), "\uFFFD")
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

package flowtrace

import (
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// TestLabelsAndTagsAreBounded checks labels (a model, a role) and tags: at
// most MaxTagLen bytes of valid UTF-8, even when replacing invalid bytes
// makes the string longer.
func TestLabelsAndTagsAreBounded(t *testing.T) {
	s := &TraceService{}
	for _, in := range []string{
		strings.Repeat("a\xff", 200), // each invalid byte becomes three
		strings.Repeat("é", MaxTagLen),
		strings.Repeat("\xff", 3*MaxTagLen),
		"  gpt-4o  ",
		" \xff ",
	} {
		for name, got := range map[string]string{"label": s.label(in), "tag": strings.Join(copyTags([]string{in}), "")} {
			assert.LessOrEqual(t, len(got), MaxTagLen, "%s of %.20q", name, in)
			assert.True(t, utf8.ValidString(got), "%s of %.20q", name, in)
			assert.Equal(t, strings.TrimSpace(got), got, "%s of %.20q is trimmed", name, in)
		}
	}
	assert.Equal(t, "gpt-4o", s.label("  gpt-4o  "))
}

// TestLabelDoesNotKeepALargeString checks that a label cut from a large
// string is a copy, and one that fits is the caller's string itself.
func TestLabelDoesNotKeepALargeString(t *testing.T) {
	s := &TraceService{}
	big := strings.Repeat("m", 10<<20)
	got := s.label(big)
	assert.Len(t, got, MaxTagLen)
	assert.NotSame(t, unsafe.StringData(big), unsafe.StringData(got), "a cut label pins the caller's 10 MiB")
	small := strings.Clone("gpt-4o")
	assert.Same(t, unsafe.StringData(small), unsafe.StringData(s.label(small)), "a label that fits is not copied")
}

package otelspans

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/flowtrace/flowtrace"
)

// TestJSONBufReused checks that the strings a run's buffer encodes are
// copies: encoding the next value in the reused buffer leaves them as they
// were, and that a large value's buffer is not kept for the rest of the run.
func TestJSONBufReused(t *testing.T) {
	var j jsonBuf
	a := j.fields(flowtrace.FieldsOf(map[string]any{"q": "hello"}))
	b := j.value(map[string]any{"n": int64(1)})
	assert.Equal(t, `{"q":"hello"}`, a, "the first value, after the buffer was reused")
	assert.Equal(t, `{"n":1}`, b)

	big := strings.Repeat("x", maxKeptJSON)
	got := j.value(big)
	assert.Len(t, got, len(big)+2, "a large value is encoded whole")
	assert.LessOrEqual(t, cap(j.b), maxKeptJSON, "a large value's buffer is not kept")
	assert.Equal(t, `"x"`, j.value("x"), "the buffer still works after a large value")
}

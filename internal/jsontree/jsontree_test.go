package jsontree_test

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace/internal/jsontree"
)

// reference encodes as encoding/json does, without HTML escaping.
func reference(t testing.TB, v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(v))
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

func TestAppendMatchesEncodingJSON(t *testing.T) {
	for _, v := range []any{
		nil, "", "plain", "<b>&</b>", "quote\" back\\ nl\n cr\r tab\t ctl\x01\x1f bs\b ff\f", "bad utf8 \xff\xfe", "sep \u2028 \u2029", "ünïcødé ✓",
		true, false, int64(-42), int64(math.MaxInt64), uint64(math.MaxUint64), 7,
		0.0, -1.5, 1e-7, 123456789.0, 1e21, 1e-300, math.MaxFloat64, math.SmallestNonzeroFloat64,
		map[string]any{}, []any{}, map[string]any{"b": 1.0, "a": []any{"x", nil, map[string]any{"z": true, "y": int64(2)}}, "": "empty key"},
		[]any{map[string]any{"k": "v"}, []any{}},
	} {
		assert.Equal(t, reference(t, v), string(jsontree.Append(nil, v)), "value %#v", v)
	}
}

func TestAppendNeverWritesInvalidJSON(t *testing.T) {
	for _, v := range []any{math.NaN(), math.Inf(1), math.Inf(-1), make(chan int), map[string]any{"f": func() {}}, panicky{}} {
		out := jsontree.Append(nil, v)
		assert.True(t, json.Valid(out), "value %#v gave %s", v, out)
	}
}

func TestAppendSurvivesCycles(t *testing.T) {
	m := map[string]any{}
	m["self"] = m
	l := []any{nil}
	l[0] = l
	for _, v := range []any{m, l} {
		out := jsontree.Append(nil, v)
		assert.True(t, json.Valid(out), "a tree that contains itself still gives valid JSON")
		assert.Contains(t, string(out), "!max depth")
	}
}

type panicky struct{}

func (panicky) MarshalJSON() ([]byte, error) { panic("boom") }

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "\b", "\f", "\x00", "\xff", "\u2028", `"\`, "<>&", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		assert.Equal(t, reference(t, s), string(jsontree.AppendString(nil, s)))
	})
}

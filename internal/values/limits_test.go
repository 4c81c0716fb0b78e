package values

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"negative MaxDepth", Config{MaxDepth: -1}, "flowtrace: invalid value snapshot config: MaxDepth -1, want >= 0"},
		{"MaxDepth too large", Config{MaxDepth: MaxDepthLimit + 1}, "MaxDepth 10001, want <= 10000"},
		{"negative MaxItems", Config{MaxItems: -2}, "MaxItems -2, want >= 0"},
		{"negative MaxString", Config{MaxString: -3}, "MaxString -3, want >= 0"},
		{"negative MaxBytes", Config{MaxBytes: -4}, "MaxBytes -4, want >= 0"},
		{"empty redact key", Config{RedactKeys: []string{"ok", " "}}, `empty redact key " "`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.cfg)
			require.ErrorIs(t, err, ErrInvalidConfig, "New(%+v) should refuse the config", tt.cfg)
			assert.Nil(t, s, "New should return no Snapshotter with an error")
			assert.Contains(t, err.Error(), tt.want, "the error should say what is wrong")
		})
	}

	_, err := New(Config{MaxDepth: -1, MaxItems: -1})
	require.Error(t, err, "New should refuse two bad fields")
	assert.Contains(t, err.Error(), "MaxDepth", "both errors should be reported")
	assert.Contains(t, err.Error(), "MaxItems", "both errors should be reported")
}

func TestDefaults(t *testing.T) {
	s := newSnap(t, Config{})
	assert.Equal(t, []int{32, 1000, 64 << 10, 512 << 10}, []int{s.maxDepth, s.maxItems, s.maxString, s.maxBytes},
		"the zero Config should take the documented defaults")
}

func TestMaxString(t *testing.T) {
	tests := []struct {
		name string
		max  int
		in   any
		want any
	}{
		{"fits", 5, "hello", "hello"},
		{"cut", 5, "hello world", "hello…(truncated 6 B)"},
		{"cut at a rune boundary", 5, "héllo wörld", "héll…(truncated 8 B)"},
		{"cut in KiB", 1, strings.Repeat("x", 2049), "x…(truncated 2.0 KiB)"},
		{"map key cut", 3, map[string]int{"abcdef": 1}, map[string]any{"abc…(truncated 3 B)": int64(1)}},
		{"Stringer output cut", 3, valueStringer{1234}, "val…(truncated 7 B)"},
		{"invalid UTF-8 repaired after the cut", 3, "a\xffbcd", "a\uFFFDb…(truncated 2 B)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, snapValue(t, Config{MaxString: tt.max}, tt.in), "snapshot with MaxString %d", tt.max)
		})
	}
}

// TestHugeString checks that a 50 MB string is cut before it is copied
// and that the snapshot does not keep the caller's string alive.
func TestHugeString(t *testing.T) {
	huge := strings.Repeat("x", 50<<20)
	got := newSnap(t, Config{}).Map(nil, map[string]any{"body": huge})["body"].(string)

	want := strings.Repeat("x", DefaultMaxString) + "…(truncated 49.9 MiB)"
	require.Equal(t, len(want), len(got), "the snapshot should keep MaxString bytes and a marker")
	assert.Equal(t, want, got, "the snapshot should be the prefix and the marker")
	start := uintptr(unsafe.Pointer(unsafe.StringData(huge)))
	p := uintptr(unsafe.Pointer(unsafe.StringData(got)))
	assert.False(t, p >= start && p < start+uintptr(len(huge)), "the snapshot should not point into the caller's string")
}

func TestMaxItems(t *testing.T) {
	big := map[string]any{}
	bigInts := map[int]int{}
	bigStrings := map[string]string{}
	for i := range 10 {
		big[fmt.Sprintf("k%d", i)] = i
		bigInts[i] = i
		bigStrings[fmt.Sprintf("k%d", i)] = "v"
	}
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"slice", []any{1, 2, 3, 4}, []any{int64(1), int64(2), int64(3), "…(truncated 1 more items)"}},
		{"typed slice", []int{1, 2, 3, 4, 5}, []any{int64(1), int64(2), int64(3), "…(truncated 2 more items)"}},
		{"array", [4]string{"a", "b", "c", "d"}, []any{"a", "b", "c", "…(truncated 1 more items)"}},
		{"[]string", []string{"a", "b", "c", "d"}, []any{"a", "b", "c", "…(truncated 1 more items)"}},
		{"map keeps the smallest keys", big, map[string]any{"k0": int64(0), "k1": int64(1), "k2": int64(2), MarkerKey: "(truncated 7 more items)"}},
		{"map[string]string", bigStrings, map[string]any{"k0": "v", "k1": "v", "k2": "v", MarkerKey: "(truncated 7 more items)"}},
		{"reflected map, keys sorted as strings", bigInts, map[string]any{"0": int64(0), "1": int64(1), "2": int64(2), MarkerKey: "(truncated 7 more items)"}},
		{"exactly MaxItems", []int{1, 2, 3}, []any{int64(1), int64(2), int64(3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 5 { // map iteration order must not matter
				assert.Equal(t, tt.want, snapValue(t, Config{MaxItems: 3}, tt.in), "snapshot with MaxItems 3")
			}
		})
	}
}

func TestMaxItemsHugeSlice(t *testing.T) {
	got := snapValue(t, Config{}, make([]int, 10_000_000)).([]any)
	require.Len(t, got, DefaultMaxItems+1, "a huge slice should keep MaxItems elements and a marker")
	assert.Equal(t, "…(truncated 9999000 more items)", got[DefaultMaxItems], "the last element should be the marker")
}

func TestMaxDepth(t *testing.T) {
	type node struct{ Next *node }
	chain := &node{&node{&node{&node{}}}}
	p0 := 1
	p1 := &p0
	p2 := &p1
	p3 := &p2
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"maps", nest(1, "a", "b", "c"), nest(MarkerDepth, "a", "b")},
		{"slices", []any{[]any{[]any{1}}}, []any{[]any{MarkerDepth}}},
		{"scalars at the limit are kept", nest(1, "a", "b"), nest(int64(1), "a", "b")},
		{"structs", chain, map[string]any{"Next": map[string]any{"Next": MarkerDepth}}},
		{"pointer chains", p3, MarkerDepth},
		{"pointer chain at the limit", p2, int64(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, snapValue(t, Config{MaxDepth: 2}, tt.in), "snapshot with MaxDepth 2")
		})
	}
}

type cyclic struct {
	Name string
	Self *cyclic
	Any  any
}

func TestCycles(t *testing.T) {
	m := map[string]any{"a": 1}
	m["self"] = m
	s := []any{1, nil}
	s[1] = s
	st := &cyclic{Name: "c"}
	st.Self = st
	var iface any
	iface = &iface
	mutual := &cyclic{Name: "a", Self: &cyclic{Name: "b"}}
	mutual.Self.Self = mutual
	viaAny := &cyclic{Name: "x"}
	viaAny.Any = []any{viaAny}
	shared := map[string]any{"v": 1}
	shorter := []any{1, nil}
	shorter[1] = shorter[:1]

	tests := []struct {
		name string
		in   any
		want any
	}{
		{"map containing itself", m, map[string]any{"a": int64(1), "self": MarkerCycle}},
		{"slice containing itself", s, []any{int64(1), MarkerCycle}},
		{"struct pointing to itself", st, map[string]any{"Name": "c", "Self": MarkerCycle, "Any": nil}},
		{"interface holding a pointer to itself", &iface, MarkerCycle},
		{"two structs pointing to each other", mutual, map[string]any{"Name": "a", "Any": nil, "Self": map[string]any{"Name": "b", "Any": nil, "Self": MarkerCycle}}},
		{"cycle through an interface and a slice", viaAny, map[string]any{"Name": "x", "Self": nil, "Any": []any{MarkerCycle}}},
		{"a value shared by two branches is no cycle", []any{shared, shared}, []any{map[string]any{"v": int64(1)}, map[string]any{"v": int64(1)}}},
		{"a shorter slice of the same array is no cycle", shorter, []any{int64(1), []any{int64(1)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := snapValue(t, Config{}, tt.in)
			assert.Equal(t, tt.want, got, "snapshot of a cyclic value")
			marshal(t, got)
		})
	}
}

func TestBudget(t *testing.T) {
	t.Run("shared across two Map calls", func(t *testing.T) {
		s := newSnap(t, Config{MaxBytes: 150})
		b := s.NewBudget()
		inputs := s.Map(&b, map[string]any{"prompt": strings.Repeat("a", 60)})
		assert.Equal(t, map[string]any{"prompt": strings.Repeat("a", 60)}, inputs, "the first map fits")
		used := b.Used()
		assert.Equal(t, len(marshal(t, inputs))+1, used, "Used should be the JSON size, and a comma")
		meta := s.Map(&b, map[string]any{"k": strings.Repeat("b", 100)})
		v := meta["k"].(string)
		assert.True(t, strings.HasPrefix(v, "bbb"), "the second map's string should be cut, got %q", v)
		assert.True(t, strings.HasSuffix(v, " B: max event bytes)"), "the cut should say it is the event budget, got %q", v)
		assert.Less(t, len(v), 150-used, "the second string should be cut to what is left")

		assert.Equal(t, map[string]any{MarkerKey: "(truncated 1 more items: max event bytes)"}, s.Map(&b, map[string]any{"late": 1}),
			"a map after the budget is exhausted should hold only the marker")
		assert.Equal(t, MarkerBytes, s.Value(&b, 1), "a value after the budget is exhausted should be the marker")

		fresh := s.NewBudget()
		assert.Equal(t, map[string]any{"late": int64(1)}, s.Map(&fresh, map[string]any{"late": 1}), "a new budget starts again")
	})

	t.Run("values after the first that does not fit are cut", func(t *testing.T) {
		s := newSnap(t, Config{MaxBytes: 40})
		got := s.Value(nil, []any{"0123456789", "0123456789", "0123456789", 1, 2})
		assert.Equal(t, []any{"0123456789", "0123456789", MarkerBytes, "…(truncated 2 more items: max event bytes)"}, got,
			"the third string should not fit, and nothing after it")
	})

	t.Run("nested containers each say what they lost", func(t *testing.T) {
		s := newSnap(t, Config{MaxBytes: 30})
		got := s.Value(nil, map[string]any{"a": []any{"0123456789", "0123456789", "x"}})
		assert.Equal(t, map[string]any{"a": []any{"0123456789", MarkerBytes, "…(truncated 1 more items: max event bytes)"}}, got,
			"the slice should end with a budget marker")
	})

	t.Run("structs", func(t *testing.T) {
		s := newSnap(t, Config{MaxBytes: 20})
		got := s.Value(nil, struct{ A, B, C string }{"0123456789", "x", "y"})
		assert.Equal(t, map[string]any{"A": "0123456789", MarkerKey: "(truncated 2 more items: max event bytes)"}, got,
			"the fields after the budget should be replaced by a marker")
	})

	t.Run("MarshalJSON output over the budget is not decoded", func(t *testing.T) {
		s := newSnap(t, Config{MaxBytes: 10})
		assert.Equal(t, MarkerBytes, s.Value(nil, json.RawMessage(`{"a":"0123456789"}`)), "a large MarshalJSON output should be the marker")
	})

	t.Run("MarshalJSON output that masking shrinks is kept in any order", func(t *testing.T) {
		// Found by FuzzSnapshot: output longer than what was left of the
		// budget, though its masked snapshot fits, was cut or kept
		// depending on the order of the values around it.
		s := newSnap(t, Config{MaxBytes: 100})
		raw := json.RawMessage(`{"password":"` + strings.Repeat("p", 60) + `"}`)
		for range 20 { // map order varies from one iteration to the next
			b := s.NewBudget()
			got := s.Value(&b, map[string]any{"pad": strings.Repeat("x", 50), "raw": raw})
			assert.Equal(t, map[string]any{"pad": strings.Repeat("x", 50), "raw": map[string]any{"password": Masked}}, got,
				"masked output that fits should be kept whatever the order")
		}
	})

	t.Run("Used matches the JSON size", func(t *testing.T) {
		s := newSnap(t, Config{})
		b := s.NewBudget()
		v := s.Value(&b, map[string]any{"s": "a\"<\n\u2028é", "i": -123, "u": uint(7), "b": true, "n": nil, "l": []any{1, "x"}, "m": map[string]string{"k": "v"}, "f": 1.0})
		j := marshal(t, v)
		assert.GreaterOrEqual(t, b.Used(), len(j), "Used should not be below the JSON size %s", j)
		assert.LessOrEqual(t, b.Used(), len(j)+10, "Used should be close to the JSON size %s", j)
	})
}

type bugInner struct{ N int }

type bugOuter struct {
	A    string
	In   *bugInner
	List []any
}

// TestPanicInReflectionIsAMarker checks that a panic in the walk of a
// value by reflection, which would be a bug of this package, becomes a
// marker in place of that value only: the entries around it are kept, and
// the walker's depth, open containers and path are as before it, so that
// a sibling as deep as MaxDepth allows and a cycle after it are recorded
// as without the panic. It sets a package hook: not parallel.
func TestPanicInReflectionIsAMarker(t *testing.T) {
	reflectHook = func(rv reflect.Value) {
		if rv.Type() == reflect.TypeFor[bugInner]() {
			panic("bug")
		}
	}
	t.Cleanup(func() { reflectHook = nil })
	var paths []string
	s := newSnap(t, Config{MaxDepth: 4, Redactor: func(path []string, v any) (any, bool) {
		paths = append(paths, strings.Join(path, "."))
		return nil, false
	}})
	cyc := map[string]any{"x": 1}
	cyc["self"] = cyc
	deep := map[string]any{"a": map[string]any{"b": map[string]any{"c": "leaf"}}}
	const marker = "!panic in snapshot: bug"
	for _, order := range []string{"ab", "ba"} {
		// Both entries nest: in the first the panic comes below an
		// open pointer and struct; the other is walked before or after.
		in := []any{
			map[string]any{"bad": &bugOuter{A: "a", In: &bugInner{1}}},
			map[string]any{"deep": deep, "cyc": cyc},
		}
		if order == "ba" {
			in[0], in[1] = in[1], in[0]
		}
		paths = nil
		var b Budget
		got := s.Value(&b, in)
		want := []any{
			map[string]any{"bad": marker},
			map[string]any{"deep": map[string]any{"a": map[string]any{"b": MarkerDepth}}, "cyc": map[string]any{"x": int64(1), "self": MarkerCycle}},
		}
		if order == "ba" {
			want[0], want[1] = want[1], want[0]
		}
		assert.Equal(t, want, got, "order %s: the panic should replace its value only", order)
		assert.Contains(t, paths, map[bool]string{true: "1.deep.a", false: "0.deep.a"}[order == "ab"], "order %s: the path should be restored after the panic", order)
		assert.Positive(t, b.Used(), "the budget should be charged")
	}
}

// TestCyclesBeyondTheInlineStack checks cycles that close on containers
// open at every depth of a chain longer than the walker's inline stack of
// open containers, and that containers closed again are no cycle.
func TestCyclesBeyondTheInlineStack(t *testing.T) {
	const n = 30
	for _, back := range []int{0, 5, 7, 8, 9, 20, n - 1} {
		chain := make([]map[string]any, n)
		for i := range chain {
			chain[i] = map[string]any{"i": i}
			if i > 0 {
				chain[i-1]["next"] = chain[i]
			}
		}
		chain[n-1]["back"] = chain[back]
		root := map[string]any{"chain": chain[0], "again": chain[n-1]}
		got := snapValue(t, Config{MaxDepth: 100}, root).(map[string]any)
		m := got["chain"].(map[string]any)
		for i := 0; i < n-1; i++ {
			require.Equal(t, int64(i), m["i"], "back to %d: level %d", back, i)
			m = m["next"].(map[string]any)
		}
		assert.Equal(t, MarkerCycle, m["back"], "back to %d: the cycle should be found", back)
		again := got["again"].(map[string]any)
		assert.Equal(t, int64(n-1), again["i"], "back to %d: a container closed again is no cycle", back)
		if back == n-1 {
			assert.Equal(t, MarkerCycle, again["back"], "a map holding itself is a cycle")
		} else {
			assert.IsType(t, map[string]any{}, again["back"], "back to %d: a container closed again is no cycle", back)
		}
	}
}

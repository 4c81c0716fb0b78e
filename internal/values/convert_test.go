package values

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type valueStringer struct{ n int }

func (v valueStringer) String() string { return fmt.Sprintf("value %d", v.n) }

type ptrStringer struct{ n int }

func (p *ptrStringer) String() string { return fmt.Sprintf("ptr %d", p.n) }

type panicStringer struct{}

func (panicStringer) String() string { panic("boom") }

type panicError struct{}

func (panicError) Error() string { panic(errors.New("kaboom")) }

type myError struct{ Code int }

func (e *myError) Error() string { return fmt.Sprintf("code %d", e.Code) }

type jsonMarshaler struct{ Pass string }

func (j jsonMarshaler) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"kind": "custom", "password": j.Pass, "n": uint64(12345678901234567890), "i": -3, "f": 0.5})
}

func (jsonMarshaler) String() string { return "stringer loses to MarshalJSON" }

type panicMarshaler struct{}

func (panicMarshaler) MarshalJSON() ([]byte, error) { panic("marshal boom") }

type errMarshaler struct{}

func (errMarshaler) MarshalJSON() ([]byte, error) { return nil, errors.New("cannot") }

type badMarshaler struct{}

func (badMarshaler) MarshalJSON() ([]byte, error) { return []byte("{not json"), nil }

// stringerMarshalerPtr has String on the value and MarshalJSON on the
// pointer: the pointer method wins when the value is addressable.
type stringerMarshalerPtr struct{ N int }

func (stringerMarshalerPtr) String() string                { return "string" }
func (*stringerMarshalerPtr) MarshalJSON() ([]byte, error) { return []byte(`"json"`), nil }

type tagged struct {
	Name      string `json:"name"`
	Renamed   int    `json:"renamed_field,omitempty"`
	Empty     string `json:",omitempty"`
	Dropped   string `json:"-"`
	Skipped   string `flowtrace:"-"`
	unexp     string
	NoTag     bool
	Inner     inner
	InnerPtr  *inner
	NilPtr    *inner
	Interface any
}

type inner struct{ X, Y int }

type Embedded struct {
	Promoted string
	Shadowed string
}

type embedded2 struct{ Deep string }

type outer struct {
	Embedded
	*embedded2
	Shadowed string
	Own      int
}

type namedString string

type namedMapKey struct{ A, B int }

func TestValueConversions(t *testing.T) {
	when := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	var nilErr *myError
	var nilMap map[string]any
	var nilSlice []int
	ch := make(chan int)
	x := 7

	tests := []struct {
		name string
		in   any
		want any
	}{
		{"nil", nil, nil},
		{"string", "hello", "hello"},
		{"invalid UTF-8 is repaired", "a\xffb\xfe", "a\uFFFDb\uFFFD"},
		{"named string", namedString("n"), "n"},
		{"bool", true, true},
		{"int", 3, int64(3)},
		{"int8", int8(-8), int64(-8)},
		{"int16", int16(-16), int64(-16)},
		{"int32", int32(-32), int64(-32)},
		{"int64", int64(math.MinInt64), int64(math.MinInt64)},
		{"uint", uint(3), uint64(3)},
		{"uint8", uint8(8), uint64(8)},
		{"uint16", uint16(16), uint64(16)},
		{"uint32", uint32(32), uint64(32)},
		{"uint64", uint64(math.MaxUint64), uint64(math.MaxUint64)},
		{"uintptr", uintptr(9), uint64(9)},
		{"float32", float32(1.5), 1.5},
		{"float64", 2.25, 2.25},
		{"NaN", math.NaN(), "NaN"},
		{"+Inf", math.Inf(1), "+Inf"},
		{"-Inf", float32(math.Inf(-1)), "-Inf"},
		{"complex", complex(1, 2), "(1+2i)"},
		{"complex64", complex64(complex(1, -2)), "(1-2i)"},
		{"time.Time", when, "2024-05-06T07:08:09.123456789Z"},
		{"*time.Time", &when, "2024-05-06T07:08:09.123456789Z"},
		{"time.Time in a struct", struct{ T time.Time }{when}, map[string]any{"T": "2024-05-06T07:08:09.123456789Z"}},
		{"time.Duration", 1500 * time.Millisecond, "1.5s"},
		{"error", errors.New("it broke"), "it broke"},
		{"wrapped error", fmt.Errorf("outer: %w", &myError{Code: 4}), "outer: code 4"},
		{"typed nil error pointer", nilErr, nil},
		{"Stringer", valueStringer{1}, "value 1"},
		{"Stringer through a pointer", &valueStringer{2}, "value 2"},
		{"pointer Stringer", &ptrStringer{3}, "ptr 3"},
		{"pointer Stringer of an addressable element", []ptrStringer{{4}}, []any{"ptr 4"}},
		{"pointer Stringer of a value that is not addressable", ptrStringer{5}, map[string]any{}},
		{"net.IP is a Stringer", net.IPv4(10, 0, 0, 1), "10.0.0.1"},
		{"panic in String", panicStringer{}, "!panic in String: boom"},
		{"panic in Error", panicError{}, "!panic in Error: kaboom"},
		{"MarshalJSON is decoded", jsonMarshaler{Pass: "s3cr3t"}, map[string]any{"kind": "custom", "password": Masked, "n": uint64(12345678901234567890), "i": int64(-3), "f": 0.5}},
		{"json.RawMessage", json.RawMessage(`[1,"a",null,{"token":"t"}]`), []any{int64(1), "a", nil, map[string]any{"token": Masked}}},
		{"panic in MarshalJSON", panicMarshaler{}, "!panic in MarshalJSON: marshal boom"},
		{"MarshalJSON error", errMarshaler{}, "!error in MarshalJSON: cannot"},
		{"MarshalJSON invalid output", badMarshaler{}, "!error in MarshalJSON: invalid character 'n' looking for beginning of object key string"},
		{"pointer MarshalJSON beats value String when addressable", []stringerMarshalerPtr{{}}, []any{"json"}},
		{"value String when not addressable", stringerMarshalerPtr{}, "string"},
		{"[]byte text", []byte("hello"), `![]byte len=5 "hello"`},
		{"[]byte binary", []byte{0xde, 0xad, 0xbe, 0xef}, "![]byte len=4 0xdeadbeef"},
		{"[]byte long", []byte(strings.Repeat("ab", 100)), `![]byte len=200 "` + strings.Repeat("ab", 16) + `"…`},
		{"nil []byte", []byte(nil), nil},
		{"byte array", [4]byte{1, 2, 3, 4}, "![4]byte len=4 0x01020304"},
		{"chan", ch, "!chan int"},
		{"func", func(int) error { return nil }, "!func(int) error"},
		{"unsafe.Pointer", unsafe.Pointer(&x), "!unsafe.Pointer"},
		{"pointer", &x, int64(7)},
		{"pointer to pointer", func() any { p := &x; return &p }(), int64(7)},
		{"nil pointer", (*int)(nil), nil},
		{"nil map", nilMap, nil},
		{"nil slice", nilSlice, nil},
		{"empty map", map[string]int{}, map[string]any{}},
		{"empty slice", []int{}, []any{}},
		{"[]int", []int{1, 2}, []any{int64(1), int64(2)}},
		{"array", [2]string{"a", "b"}, []any{"a", "b"}},
		{"[]string", []string{"a"}, []any{"a"}},
		{"map[string]string", map[string]string{"k": "v"}, map[string]any{"k": "v"}},
		{"map[string]int", map[string]int{"k": 1}, map[string]any{"k": int64(1)}},
		{"int keys", map[int]string{1: "a", -2: "b"}, map[string]any{"1": "a", "-2": "b"}},
		{"uint keys", map[uint8]bool{7: true}, map[string]any{"7": true}},
		{"float keys", map[float64]int{1.5: 1}, map[string]any{"1.5": int64(1)}},
		{"bool keys", map[bool]int{true: 1}, map[string]any{"true": int64(1)}},
		{"struct keys", map[namedMapKey]int{{1, 2}: 3}, map[string]any{"{1 2}": int64(3)}},
		{"any keys", map[any]any{"s": 1, 2: "two", nil: "nil"}, map[string]any{"s": int64(1), "2": "two", "<nil>": "nil"}},
		{"nested interfaces", []any{map[string]any{"a": []any{1}}}, []any{map[string]any{"a": []any{int64(1)}}}},
		{
			"struct",
			tagged{Name: "n", Dropped: "d", Skipped: "s", unexp: "u", NoTag: true, Inner: inner{1, 2}, InnerPtr: &inner{3, 4}, Interface: map[string]int{"i": 5}},
			map[string]any{
				"name": "n", "renamed_field": int64(0), "Empty": "", "NoTag": true,
				"Inner":    map[string]any{"X": int64(1), "Y": int64(2)},
				"InnerPtr": map[string]any{"X": int64(3), "Y": int64(4)},
				"NilPtr":   nil, "Interface": map[string]any{"i": int64(5)},
			},
		},
		{
			"embedded structs are promoted, shallower fields win",
			outer{Embedded: Embedded{Promoted: "p", Shadowed: "deep"}, embedded2: &embedded2{Deep: "d"}, Shadowed: "top", Own: 1},
			map[string]any{"Promoted": "p", "Shadowed": "top", "Deep": "d", "Own": int64(1)},
		},
		{
			"fields behind a nil embedded pointer are left out",
			outer{Own: 2},
			map[string]any{"Promoted": "", "Shadowed": "", "Own": int64(2)},
		},
		{"struct without exported fields", struct{ a int }{1}, map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := snapValue(t, Config{}, tt.in)
			assert.Equal(t, tt.want, got, "snapshot of %#v", tt.in)
			checkTree(t, got)
			marshal(t, got)
		})
	}
}

func TestMapNilAndEmpty(t *testing.T) {
	s := newSnap(t, Config{})
	b := s.NewBudget()
	assert.Nil(t, s.Map(&b, nil), "Map(nil) should be nil")
	got := s.Map(&b, map[string]any{})
	assert.NotNil(t, got, "Map of an empty map should not be nil")
	assert.Empty(t, got, "Map of an empty map should be empty")
}

func TestNilSnapshotterAndBudget(t *testing.T) {
	var s *Snapshotter
	assert.Equal(t, map[string]any{"password": Masked, "n": int64(1)}, s.Map(nil, map[string]any{"password": "p", "n": 1}),
		"a nil Snapshotter with a nil Budget should use the defaults")
	assert.Equal(t, "v", s.Value(nil, "v"), "a nil Snapshotter should snapshot values")
	var b *Budget
	assert.Zero(t, b.Used(), "a nil Budget has used nothing")
}

// TestSnapshotDoesNotShare checks that changing the caller's value after
// the snapshot leaves the snapshot as it was.
func TestSnapshotDoesNotShare(t *testing.T) {
	in := map[string]any{
		"m":  map[string]any{"a": 1},
		"s":  []any{"x"},
		"ss": []string{"y"},
		"ms": map[string]string{"k": "v"},
		"p":  &inner{X: 1},
		"b":  []byte("abc"),
	}
	got := newSnap(t, Config{}).Map(nil, in)
	want := marshal(t, got)

	in["m"].(map[string]any)["a"] = 2
	in["s"].([]any)[0] = "changed"
	in["ss"].([]string)[0] = "changed"
	in["ms"].(map[string]string)["k"] = "changed"
	in["p"].(*inner).X = 2
	in["b"].([]byte)[0] = 'z'
	in["new"] = 1

	assert.JSONEq(t, want, marshal(t, got), "changing the caller's value should not change its snapshot")
}

func TestStructFieldsAreCachedPerSnapshotter(t *testing.T) {
	type creds struct{ Login, Pin string }
	plain := newSnap(t, Config{})
	pins := newSnap(t, Config{RedactKeys: []string{"pin"}})
	v := creds{"ada", "1234"}
	require.Equal(t, map[string]any{"Login": "ada", "Pin": "1234"}, plain.Value(nil, v), "Pin should be kept by default")
	require.Equal(t, map[string]any{"Login": "ada", "Pin": Masked}, pins.Value(nil, v), "Pin should be masked with the redact key \"pin\"")
}

// TestEmptySnapshotsAreNotShared checks that two empty snapshots are two
// maps: an exporter that wrongly writes into one cannot reach other runs.
func TestEmptySnapshotsAreNotShared(t *testing.T) {
	s := newSnap(t, Config{})
	a := s.Map(nil, map[string]any{})
	b, ok := s.Value(nil, struct{}{}).(map[string]any)
	require.True(t, ok)
	a["written"] = true
	assert.Empty(t, b, "an empty snapshot should not share its map")
	assert.Empty(t, s.Map(nil, map[string]any{}))
}

// TestJSONDashComma checks that `json:"-,"` names a field "-", as in
// encoding/json, while `json:"-"` skips it.
func TestJSONDashComma(t *testing.T) {
	type dash struct {
		A int `json:"-,"`
		B int `json:"-"`
	}
	s := newSnap(t, Config{})
	assert.Equal(t, map[string]any{"-": int64(1)}, s.Value(nil, dash{A: 1, B: 2}))
}

package tracing

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const runUUID = "0f8fad5b-d9cb-469f-a165-70867728950e"

func TestParseBaggage(t *testing.T) {
	long := strings.Repeat("a", maxIdentityLen)
	many := make([]string, maxBaggageMembers)
	for i := range many {
		many[i] = "k=v"
	}
	tests := []struct {
		name  string
		lines []string
		want  identity
		ok    bool
	}{
		{"absent", nil, identity{}, false},
		{"run id", []string{"flowtrace.run.id=" + runUUID}, identity{runID: runUUID}, true},
		{"all three, OWS, properties, other members",
			[]string{"a=1;p;q=2, flowtrace.run.id = r1 ;prop , flowtrace.session.id=s%201,\tflowtrace.user.id=u%E2%82%AC"},
			identity{runID: "r1", sessionID: "s 1", userID: "u€"}, true},
		{"across header lines", []string{"a=1", "flowtrace.run.id=r1"}, identity{runID: "r1"}, true},
		{"first of a key wins", []string{"flowtrace.run.id=r1,flowtrace.run.id=r2"}, identity{runID: "r1"}, true},
		{"empty members tolerated", []string{",flowtrace.run.id=r1,,"}, identity{runID: "r1"}, true},
		{"no flowtrace member", []string{"a=b"}, identity{}, true},
		{"empty value means none", []string{"flowtrace.run.id="}, identity{}, true},
		{"id of the maximum length", []string{"flowtrace.run.id=" + long}, identity{runID: long}, true},
		{"id past the maximum length", []string{"flowtrace.run.id=" + long + "a"}, identity{}, true},
		{"escaped id past the maximum length", []string{"flowtrace.run.id=" + strings.Repeat("%41", maxIdentityLen+1)}, identity{}, true},
		{"escaped control character", []string{"flowtrace.run.id=r%0A1,flowtrace.user.id=u"}, identity{userID: "u"}, true},
		{"escaped DEL", []string{"flowtrace.run.id=r%7F"}, identity{}, true},
		{"escaped invalid UTF-8", []string{"flowtrace.run.id=%FF%FE"}, identity{}, true},
		{"lower-case escapes", []string{"flowtrace.run.id=a%2fb"}, identity{runID: "a/b"}, true},
		{"180 members", append([]string{"flowtrace.run.id=r"}, many[1:]...), identity{runID: "r"}, true},
		{"181 members", append([]string{"flowtrace.run.id=r"}, many...), identity{}, false},
		{"8192 bytes", []string{"flowtrace.run.id=r,x=" + strings.Repeat("v", maxBaggageBytes-len("flowtrace.run.id=r,x="))}, identity{runID: "r"}, true},
		{"8193 bytes", []string{"flowtrace.run.id=r,x=" + strings.Repeat("v", maxBaggageBytes+1-len("flowtrace.run.id=r,x="))}, identity{}, false},
		{"many empty lines", make([]string, maxBaggageBytes+2), identity{}, false},
		{"bad escape", []string{"flowtrace.run.id=r1,a=%zz"}, identity{}, false},
		{"truncated escape", []string{"flowtrace.run.id=r1,a=%4"}, identity{}, false},
		{"space in value", []string{"flowtrace.run.id=r 1"}, identity{}, false},
		{"quote in value", []string{`flowtrace.run.id="r1"`}, identity{}, false},
		{"backslash in value", []string{`flowtrace.run.id=r\1`}, identity{}, false},
		{"no equals", []string{"flowtrace.run.id"}, identity{}, false},
		{"empty key", []string{"=v,flowtrace.run.id=r1"}, identity{}, false},
		{"key not a token", []string{"a(b)=v,flowtrace.run.id=r1"}, identity{}, false},
		{"empty property", []string{"flowtrace.run.id=r1;"}, identity{}, false},
		{"bad property value", []string{"flowtrace.run.id=r1;p=a b"}, identity{}, false},
		{"non-ASCII", []string{"flowtrace.run.id=r€"}, identity{}, false},
		{"NUL", []string{"flowtrace.run.id=r\x00"}, identity{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseBaggage(tt.lines)
			assert.Equal(t, tt.ok, ok, "valid")
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseBaggageAllocatesOnlyTheIDs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	tests := []struct {
		header string
		allocs float64
	}{
		{"a=b,c=d;p", 0},
		{"flowtrace.run.id=" + runUUID + ",other=" + strings.Repeat("x", 8000), 1},
		{"flowtrace.run.id=run-1,flowtrace.session.id=s%20x,flowtrace.user.id=user-1", 3},
		{strings.Repeat("k=v,", 181), 0},
		{"x=" + strings.Repeat("%41", 2700), 0},
	}
	for _, tt := range tests {
		lines := []string{tt.header}
		assert.Equal(t, tt.allocs, testing.AllocsPerRun(100, func() { _, _ = parseBaggage(lines) }), "%.40q", tt.header)
	}
}

func TestMergeBaggage(t *testing.T) {
	id := identity{runID: "r1", sessionID: "s 1", userID: "u,1"}
	tests := []struct {
		name         string
		existing     []string
		withIdentity bool
		want         string
		ok           bool
	}{
		{"alone", nil, false, "flowtrace.run.id=r1", true},
		{"with identity, escaped", nil, true, "flowtrace.run.id=r1,flowtrace.session.id=s%201,flowtrace.user.id=u%2C1", true},
		{"kept after ours", []string{"a=1;p, b=2", "c=3"}, false, "flowtrace.run.id=r1,a=1;p,b=2,c=3", true},
		{"stale flowtrace members replaced", []string{"flowtrace.run.id=old,flowtrace.user.id=someone,a=1"}, false, "flowtrace.run.id=r1,a=1", true},
		{"full: theirs kept whole", []string{strings.Repeat("k=v,", maxBaggageMembers)}, false, "", false},
		{"too long: theirs kept whole", []string{"a=" + strings.Repeat("v", maxBaggageBytes-10)}, false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := mergeBaggage(tt.existing, id, tt.withIdentity)
			require.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestMergeBaggageRoundTrip(t *testing.T) {
	id := identity{runID: "run/1;=x", sessionID: "séance 1", userID: "100% \"real\""}
	v, ok := mergeBaggage([]string{"a=1"}, id, true)
	require.True(t, ok)
	got, ok := parseBaggage([]string{v})
	require.True(t, ok, "%q must be valid baggage", v)
	assert.Equal(t, id, got)
}

func FuzzBaggage(f *testing.F) {
	for _, s := range [][2]string{
		{"flowtrace.run.id=" + runUUID, ""},
		{"flowtrace.run.id=r1,flowtrace.session.id=s%201,flowtrace.user.id=u", ""},
		{"a=1;p;q=2, flowtrace.run.id = r1 ;prop ", "b=2"},
		{"userId=alice,serverNode=DF%2028,isProduction=false", ""},
		{"key1=value1;property1;property2, key2 = value2, key3=value3; propertyKey=propertyValue", ""},
		{"flowtrace.run.id=%zz", ""},
		{"flowtrace.run.id=%E2%82", ""},
		{"flowtrace.run.id=a%00b", ""},
		{strings.Repeat("k=v,", 181), ""},
		{"a=" + strings.Repeat("v", maxBaggageBytes), ""},
		{",,,", ","},
		{"=", ";"},
		{"flowtrace.run.id=r1;", ""},
	} {
		f.Add(s[0], s[1])
	}
	checkAllocs := !raceEnabled
	ours := identity{runID: "run-1", sessionID: "s 1", userID: "u%1"}
	f.Fuzz(func(t *testing.T, a, b string) {
		lines := []string{a}
		if b != "" {
			lines = append(lines, b)
		}
		id, ok := parseBaggage(lines)
		if !ok && id != (identity{}) {
			t.Fatalf("rejected %q but returned %+v", lines, id)
		}
		kept := 0
		for _, v := range []string{id.runID, id.sessionID, id.userID} {
			if v == "" {
				continue
			}
			kept++
			if len(v) > maxIdentityLen || !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("kept an ID flowtrace refuses: %q", v)
			}
		}
		if checkAllocs {
			if n := testing.AllocsPerRun(1, func() { _, _ = parseBaggage(lines) }); n > float64(kept) {
				t.Fatalf("parse of %d bytes allocated %v times for %d IDs", len(a)+len(b), n, kept)
			}
		}
		if ok {
			// Round trip: what was read, written alone, reads back the same.
			if id.runID != "" {
				v, ok := mergeBaggage(nil, id, true)
				back, ok2 := parseBaggage([]string{v})
				if !ok || !ok2 || back != id {
					t.Fatalf("round trip of %+v: %q read back as %+v, %v", id, v, back, ok2)
				}
			}
		}
		merged, ok2 := mergeBaggage(lines, ours, true)
		if !ok2 {
			return
		}
		if len(merged) > maxBaggageBytes {
			t.Fatalf("merged header of %d bytes", len(merged))
		}
		back, valid := parseBaggage([]string{merged})
		if ok && (!valid || back != ours) {
			t.Fatalf("merging into valid %q gave %q, read back as %+v, %v", lines, merged, back, valid)
		}
		if valid && back != ours {
			t.Fatalf("merged %q reads as %+v, want ours", merged, back)
		}
	})
}

func TestTcharsAreRFC9110Tchars(t *testing.T) {
	for c := range 256 {
		want := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0
		assert.Equal(t, want, isTchar(byte(c)), "byte %#x", c)
	}
}

package values

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// sentinel is planted under masked keys only: it must never be recorded.
const sentinel = "SENTINEL-7f3a"

// redactMe is planted anywhere: with the fuzz Redactor on, it must never
// be recorded.
const redactMe = "REDACTME-91c2"

// fuzzKeys are the keys the generator picks from: plain, masked in mixed
// case, invalid UTF-8 and long.
var fuzzKeys = []string{
	"q", "Name", "PASSWORD", "x-Api_Key", "access_TOKEN", "data", "Set-Cookie", "list",
	"SecretSauce", "a\xffb", "AUTHORIZATION", "priVate_key", "db_credentials", "passwd",
	"X-API-KEY", "apikey", "", "long-key-" + strings.Repeat("k", 40),
}

type fuzzStruct struct {
	Name     string
	Password string
	Note     string `flowtrace:"secret"`
	Hidden   string `flowtrace:"-"`
	Child    any    `json:"child"`
	Ptr      *fuzzStruct
	Token    []string
}

type fuzzStringer struct{ s string }

func (f fuzzStringer) String() string { return f.s }

// fuzzTagged hides the sentinel behind a tag; the types around it print
// it through their methods, which must not be called.
type fuzzTagged struct {
	Name string
	Key  string `flowtrace:"secret"`
}

type fuzzPrinter struct{ Items []fuzzTagged }

func (p fuzzPrinter) String() string { return fmt.Sprintf("%+v", p.Items) }

type fuzzMarshaler map[string]*fuzzTagged

func (m fuzzMarshaler) MarshalJSON() ([]byte, error) {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v.Name + " " + v.Key
	}
	return json.Marshal(out)
}

// fuzzAuthError has a field masked by its name, and prints it.
type fuzzAuthError struct{ Token string }

func (e *fuzzAuthError) Error() string { return "auth " + e.Token }

// fuzzValuer records a map with the sentinel under a masked key.
type fuzzValuer struct{ v any }

func (f fuzzValuer) TraceValue() any { return map[string]any{"password": sentinel, "v": f.v} }

// gen turns fuzz bytes into a value, planting sentinel only under masked
// keys.
type gen struct {
	s    *Snapshotter
	data []byte
	i    int
	// leak plants the sentinel in clear text too: for values recorded
	// after the run has seen it masked.
	leak bool
}

func (g *gen) next() byte {
	if g.i >= len(g.data) {
		return 0
	}
	b := g.data[g.i]
	g.i++
	return b
}

func (g *gen) key() string { return fuzzKeys[int(g.next())%len(fuzzKeys)] }

// text returns a string to plant: the sentinel under a masked key, else
// something harmless or one for the Redactor.
func (g *gen) text(secret bool) string {
	switch {
	case secret:
		return sentinel
	case g.leak && g.next()%3 == 0:
		return "seen " + sentinel + " again"
	case g.next()%4 == 0:
		return redactMe
	default:
		return "v" + string(rune('a'+g.next()%26))
	}
}

// opaque is text for the output of a method, which the Redactor, asked
// about the value and not about its String, cannot replace.
func (g *gen) opaque(secret bool) string {
	switch {
	case secret:
		return sentinel
	case g.leak && g.next()%3 == 0:
		return "seen " + sentinel
	default:
		return "v" + string(rune('a'+g.next()%26))
	}
}

func (g *gen) value(depth int, secret bool) any {
	if depth > 12 || g.i >= len(g.data) {
		return g.text(secret)
	}
	n := int(g.next() % 6)
	switch g.next() % 26 {
	case 0:
		return g.text(secret)
	case 1:
		return int(g.next()) - 128
	case 2:
		m := map[string]any{}
		for range n {
			k := g.key()
			m[k] = g.value(depth+1, secret || g.s.masked(k))
		}
		return m
	case 3:
		l := make([]any, n)
		for i := range l {
			l[i] = g.value(depth+1, secret)
		}
		return l
	case 4:
		m := map[string]string{}
		for range n {
			k := g.key()
			m[k] = g.text(secret || g.s.masked(k))
		}
		return m
	case 5:
		l := make([]string, n)
		for i := range l {
			l[i] = g.text(secret)
		}
		return l
	case 6:
		f := &fuzzStruct{Name: g.text(secret), Password: sentinel, Note: sentinel, Hidden: sentinel, Token: []string{sentinel}}
		f.Child = g.value(depth+1, secret)
		if g.next()%2 == 0 {
			f.Ptr = f
		}
		return f
	case 7:
		m := map[any]any{}
		for range n {
			if b := g.next(); b%3 == 0 {
				m[int(b)] = g.value(depth+1, secret)
			} else {
				k := g.key()
				m[k] = g.value(depth+1, secret || g.s.masked(k))
			}
		}
		return m
	case 8:
		v := g.value(depth+1, secret)
		return &v
	case 9:
		m := map[string]any{}
		k := g.key()
		m[k] = m
		m["v"] = g.value(depth+1, secret)
		return []any{m, m}
	case 10:
		return [...]float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 1e300, 0.1}[n]
	case 11:
		return []byte(g.opaque(secret))
	case 12:
		raw, _ := json.Marshal(map[string]any{"password": sentinel, "data": g.text(secret), "n": n})
		return json.RawMessage(raw)
	case 13:
		return fuzzStringer{g.opaque(secret)}
	case 14:
		return errors.New(g.opaque(secret))
	case 15:
		return nil
	case 16:
		return time.Unix(int64(n)<<30, int64(g.next())).UTC()
	case 17:
		return map[string]any{"Secret_" + g.key(): g.value(depth+1, true), "token": sentinel}
	case 18:
		return fuzzPrinter{Items: []fuzzTagged{{Name: g.text(secret), Key: sentinel}}}
	case 19:
		return fuzzMarshaler{g.key(): {Name: g.text(secret), Key: sentinel}}
	case 20:
		err := fmt.Errorf("w%d: %w", n, &fuzzAuthError{Token: sentinel})
		if n%2 == 0 {
			err = errors.Join(errors.New(g.opaque(secret)), err)
		}
		return err
	case 21:
		return fuzzSecret(sentinel)
	case 22:
		return fuzzValuer{g.value(depth+1, secret)}
	case 23:
		return "dial postgres://app:" + sentinel + "@db/x for " + g.text(secret)
	case 24:
		return []byte(`{"token":"` + sentinel + `","n":` + fmt.Sprint(n) + `}`)
	default:
		return []any{&fuzzTagged{Name: g.text(secret), Key: sentinel}, g.value(depth+1, secret)}
	}
}

// fuzzSecret is a secret type of the fuzz config.
type fuzzSecret string

// fuzzConfig derives small limits from one byte, so that cuts are
// exercised too.
func fuzzConfig(b byte) Config {
	cfg := Config{
		SecretTypes: []reflect.Type{reflect.TypeFor[fuzzSecret]()},
		MaxString:   []int{0, 1, 5, 40}[b&3],
		MaxItems:    []int{0, 1, 3}[int(b>>2&3)%3],
		MaxDepth:    []int{0, 2, 5}[int(b>>4&3)%3],
		MaxBytes:    []int{0, 1, 60, 500}[b>>6],
	}
	if b&0x20 != 0 {
		cfg.Redactor = func(path []string, v any) (any, bool) {
			if s, ok := v.(string); ok && strings.Contains(s, "REDACTME") {
				return "[redacted]", true
			}
			return nil, false
		}
	}
	return cfg
}

func FuzzSnapshot(f *testing.F) {
	for _, seed := range []string{
		"\x00null",
		"\x00{}",
		"\x00{\"password\":\"x\",\"list\":[1,2.5,\"s\",true,null,{\"TOKEN\":{\"deep\":\"x\"}}]}",
		"\x20{\"a\":\"REDACTME\",\"b\":[\"REDACTME\"]}",
		"\xff[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
		"\x55{\"k\":\"\\u2028\\u0000<>&\\\"é\"}",
		"\x03\x02\x03\x02\x06\x02\x02\x03\x09",
		"\x10\x06\x06\x06\x06\x06\x06",
		"\x41\x07\x02\x05\x01\x11\x00\x0c\x0c",
		"\x00\x05\x09\x03\x08\x04\x0d\x05\x0e\x00\x10",
		"\xc0\x03\x03\x05\x02\x05\x02\x05\x02\x05\x02",
		// Issue 9: secrets behind String, MarshalJSON, wrapped and joined
		// errors, a secret type, a Valuer, a URL, a JSON []byte, a tagged
		// pointer; then the same values in a later event of the run.
		"\x00\x01\x12\x02", "\x00\x01\x13\x03", "\x00\x01\x14", "\x00\x02\x14\x01",
		"\x00\x00\x15", "\x00\x00\x16\x00\x00", "\x00\x00\x17\x00", "\x03\x00\x18",
		"\x20\x01\x19\x00\x00", "\x00\x03\x02\x04\x00\x12\x05\x00\x15\x06\x00\x14",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		cfg := fuzzConfig(data[0])
		s, err := New(cfg)
		require.NoError(t, err, "the fuzz config should be valid")
		data = data[1:]

		var decoded any
		if json.Unmarshal(data, &decoded) == nil {
			checkFuzz(t, s, cfg, decoded, false)
		}
		g := gen{s: s, data: data}
		checkFuzz(t, s, cfg, g.value(0, false), true)

		// A run: the first event masks the sentinel; a later one holds it
		// in clear text, in strings, messages and keys, and must not
		// record it. Within one event, a secret found after a value was
		// snapshotted is scrubbed from it by snapshotting the event again
		// with the secret known, as the root package's write path does.
		g = gen{s: s, data: data}
		first := s.NewBudget()
		event := map[string]any{"api_key": sentinel, "v": g.value(0, false)}
		s.Map(&first, event)
		seen := (*Secrets)(nil).With(first.Found())
		again := s.NewBudget()
		again.Seen = seen
		out := s.Map(&again, event)
		require.NotContains(t, marshal(t, out), sentinel, "the first event should not record the sentinel")
		if seen.Scrub(sentinel) != Masked {
			return // cut by the budget before it was masked: never seen
		}
		g = gen{s: s, data: data, leak: true}
		later := s.NewBudget()
		later.Seen = seen
		v := g.value(0, false)
		got := s.Value(&later, v)
		require.NotContains(t, marshal(t, got), sentinel, "a later value of the run should not record a secret the run has seen")
		if m, ok := v.(map[string]any); ok {
			again := s.NewBudget()
			again.Seen = seen
			require.NotContains(t, marshal(t, s.Map(&again, m)), sentinel, "a later value of the run should not record a secret the run has seen")
		}
	})
}

// checkFuzz snapshots v by Value, and by Map when it is a map, and checks
// what must hold of every snapshot. planted says v came from gen, which puts
// the sentinel under masked keys only; decoded JSON may hold it anywhere.
func checkFuzz(t *testing.T, s *Snapshotter, cfg Config, v any, planted bool) {
	b := s.NewBudget()
	check := func(out any) {
		checkTree(t, out)
		j := marshal(t, out)
		require.NotContains(t, j, "!panic in snapshot", "snapshotting should not panic")
		if planted {
			require.NotContains(t, j, sentinel, "a value under a masked key should never be recorded")
		}
		if cfg.Redactor != nil {
			// The Redactor is asked about values; a key may well say REDACTME.
			eachValue(out, func(v string) {
				require.NotContains(t, v, "REDACTME", "a value the Redactor replaces should never be recorded")
			})
		}
		checkMasked(t, s, out)
	}
	check(s.Value(&b, v))
	single := b.Used()
	if m, ok := v.(map[string]any); ok {
		check(s.Map(&b, m))
	}
	one := s.NewBudget()
	out := s.Value(&one, v)
	j := marshal(t, out)
	if single < s.maxBytes {
		// Under the budget; over it, what fits depends on map order.
		require.Equal(t, single, one.Used(), "the same value should cost the same")
	}
	require.GreaterOrEqual(t, one.Used(), len(j), "Used should not be below the JSON size of %s", j)
	slack := (s.maxDepth + 4) * 100
	require.LessOrEqual(t, one.Used(), s.maxBytes+slack, "Used should exceed MaxBytes by markers only")
}

// checkMasked fails if a masked key of out holds anything but Masked or a
// budget marker.
func checkMasked(t *testing.T, s *Snapshotter, out any) {
	switch x := out.(type) {
	case map[string]any:
		for k, v := range x {
			if s.masked(k) && v != Masked && v != MarkerBytes {
				t.Fatalf("key %q holds %#v, want %q", k, v, Masked)
			}
			checkMasked(t, s, v)
		}
	case []any:
		for _, v := range x {
			checkMasked(t, s, v)
		}
	}
}

// eachValue calls f with every string value of a snapshot, not its keys.
func eachValue(out any, f func(string)) {
	switch x := out.(type) {
	case string:
		f(x)
	case map[string]any:
		for _, v := range x {
			eachValue(v, f)
		}
	case []any:
		for _, v := range x {
			eachValue(v, f)
		}
	}
}

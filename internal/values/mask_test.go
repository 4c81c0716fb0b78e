package values

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const secret = "s3cr3t-VALUE"

type login struct {
	User     string `json:"user"`
	Password string `json:"pw"`
	PIN      string `flowtrace:"secret"`
	Private  string `json:"note" flowtrace:"-"`
	Nested   *login `json:"nested,omitempty"`
}

type secretStringer struct{}

func (secretStringer) String() string { panic("String should not be called on a masked value") }

type Creds struct {
	Key  string
	Name string
}

type withSecretEmbed struct {
	Creds `flowtrace:"secret"`
	Other string
}

// nest returns v under keys, outermost first.
func nest(v any, keys ...string) any {
	for i := len(keys) - 1; i >= 0; i-- {
		v = map[string]any{keys[i]: v}
	}
	return v
}

func TestMasking(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		in   any
		want any
	}{
		{"depth 1", Config{}, map[string]any{"password": secret, "q": "x"}, map[string]any{"password": Masked, "q": "x"}},
		{"depth 3", Config{}, nest(secret, "a", "b", "api_key"), nest(Masked, "a", "b", "api_key")},
		{"depth 8", Config{}, nest(secret, "1", "2", "3", "4", "5", "6", "7", "Session_Token"), nest(Masked, "1", "2", "3", "4", "5", "6", "7", "Session_Token")},
		{"everything under a masked key", Config{}, map[string]any{"secrets": map[string]any{"a": secret, "b": []any{secret}}}, map[string]any{"secrets": Masked}},
		{"mixed case keys", Config{}, map[string]any{"API_KEY": secret, "ApiKey": secret, "X-Auth-Token": secret, "Set-Cookie": secret, "Password2": secret},
			map[string]any{"API_KEY": Masked, "ApiKey": Masked, "X-Auth-Token": Masked, "Set-Cookie": Masked, "Password2": Masked}},
		{"a dash matches an underscore", Config{}, map[string]any{"X-API-KEY": secret, "private-key": secret, "x_api_kex": "kept"}, map[string]any{"X-API-KEY": Masked, "private-key": Masked, "x_api_kex": "kept"}},
		{"extra redact keys", Config{RedactKeys: []string{"Session-Key", "ssn"}}, map[string]any{"X-SESSION_KEY": secret, "user_SSN": secret, "session": "kept"}, map[string]any{"X-SESSION_KEY": Masked, "user_SSN": Masked, "session": "kept"}},
		{"map[string]string", Config{}, map[string]string{"Authorization": secret, "a": "b"}, map[string]any{"Authorization": Masked, "a": "b"}},
		{"map[string]int", Config{}, map[string]int{"token": 12, "max_tokens": 1}, map[string]any{"token": Masked, "max_tokens": int64(1)}},
		{"map[any]any with string keys", Config{}, map[any]any{"Secret": secret, 1: "x"}, map[string]any{"Secret": Masked, "1": "x"}},
		{"map with named string keys", Config{}, map[namedString]string{"credentials": secret}, map[string]any{"credentials": Masked}},
		{"slice of structs", Config{}, []login{{User: "ada", Password: secret, PIN: secret, Private: secret}},
			[]any{map[string]any{"user": "ada", "pw": Masked, "PIN": Masked, "nested": nil}}},
		{"pointer to struct, nested", Config{}, &login{User: "a", Nested: &login{User: "b", Password: secret}},
			map[string]any{"user": "a", "pw": Masked, "PIN": Masked, "nested": map[string]any{"user": "b", "pw": Masked, "PIN": Masked, "nested": nil}}},
		{"array of maps", Config{}, [1]map[string]any{{"token": secret}}, []any{map[string]any{"token": Masked}}},
		{"masked values are not converted", Config{}, map[string]any{"secret": secretStringer{}}, map[string]any{"secret": Masked}},
		{"secret embedded struct", Config{}, withSecretEmbed{Creds: Creds{Key: secret, Name: secret}, Other: "o"}, map[string]any{"Key": Masked, "Name": Masked, "Other": "o"}},
		{"field masked by its Go name", Config{}, struct {
			APIKey string `json:"k"`
		}{secret}, map[string]any{"k": Masked}},
		{"key masked before it is cut", Config{MaxString: 4}, map[string]any{"xxxxxxx_password": secret}, map[string]any{"xxxx…(truncated 12 B)": Masked}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := snapValue(t, tt.cfg, tt.in)
			assert.Equal(t, tt.want, got, "masked snapshot of %#v", tt.in)
			assert.NotContains(t, marshal(t, got), secret, "the secret should appear nowhere in the JSON")
		})
	}
}

func TestMaskedMatchesWordsIgnoringASCIICase(t *testing.T) {
	s := newSnap(t, Config{RedactKeys: []string{"Größe"}})
	tests := []struct {
		key  string
		want bool
	}{
		{"", false},
		{"q", false},
		{"tok", false},
		{"token", true},
		{"TOKEN", true},
		{"refresh_TOKEN_2", true}, // numbers are not words for the position rules
		{"my_private_key", true},
		{"privatekey", true}, // glued: Go's PrivateKey too
		{"PrivateKey", true},
		{"X-API-KEY", true},
		{"apiKey", true},
		{"api", false},
		{"_-_", false},
		{"größe", true},
		{"max_größe", true},
		{"größer", false}, // words, not substrings
		{"GRÖSSE", false}, // only ASCII letters fold
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			assert.Equal(t, tt.want, s.masked(tt.key), "masked(%q)", tt.key)
		})
	}
}

func TestRedactor(t *testing.T) {
	type call struct {
		path string
		v    any
	}
	var calls []call
	s := newSnap(t, Config{Redactor: func(path []string, v any) (any, bool) {
		calls = append(calls, call{strings.Join(path, "."), v})
		if str, ok := v.(string); ok && strings.HasPrefix(str, "4111") {
			return "card ****", true
		}
		if len(path) > 0 && path[len(path)-1] == "replace" {
			// The replacement is snapshotted, but not asked about again.
			return map[string]any{"password": secret, "inner": "4111 again"}, true
		}
		return nil, false
	}})
	in := map[string]any{
		"card":    "4111 1111",
		"list":    []any{"a", "4111"},
		"user":    login{User: "u", Password: secret},
		"replace": 1,
		"token":   "never asked",
	}
	got := s.Map(nil, in)
	assert.Equal(t, map[string]any{
		"card":    "card ****",
		"list":    []any{"a", "card ****"},
		"user":    map[string]any{"user": "u", "pw": Masked, "PIN": Masked, "nested": nil},
		"replace": map[string]any{"password": Masked, "inner": "4111 again"},
		"token":   Masked,
	}, got, "the Redactor should replace what it returns true for")

	paths := map[string]bool{}
	for _, c := range calls {
		paths[c.path] = true
	}
	for _, p := range []string{"card", "list", "list.0", "list.1", "user", "user.user", "user.nested", "replace"} {
		assert.True(t, paths[p], "the Redactor should be asked about path %q; asked about %v", p, paths)
	}
	for _, p := range []string{"", "token", "user.pw", "replace.inner"} {
		assert.False(t, paths[p], "the Redactor should not be asked about path %q", p)
	}

	calls = nil
	assert.Equal(t, "card ****", s.Value(nil, "4111"), "Value should ask the Redactor about the root")
	require.Len(t, calls, 1, "Value should ask once about a string")
	assert.Empty(t, calls[0].path, "the root's path is empty")
}

func TestRedactorPanic(t *testing.T) {
	s := newSnap(t, Config{Redactor: func([]string, any) (any, bool) { panic("redactor bug") }})
	got := s.Map(nil, map[string]any{"a": secret})
	assert.Equal(t, map[string]any{"a": "!panic in Redactor: redactor bug"}, got, "a panic in the Redactor should mask the value with a marker")
}

// creds prints its secret field in String, and has a MarshalJSON that
// leaks it under an innocent key.
type creds struct {
	User string
	Pass string `flowtrace:"secret"`
}

func (c creds) String() string                { return c.User + ":" + c.Pass }
func (c *creds) MarshalJSON() ([]byte, error) { return json.Marshal(map[string]string{"note": c.Pass}) }
func (c creds) Error() string                 { return "bad " + c.Pass }

// namedSecret has a field masked by its name, and a String that prints it.
type namedSecret struct{ APIKey string }

func (n namedSecret) String() string { return "key=" + n.APIKey }

// TestSecretStructsAreWalkedNotConverted checks that a struct with a masked
// field is recorded field by field, never through its String, Error or
// MarshalJSON, which would print the secret: as a value, behind a
// pointer, as a map value and as a map key.
func TestSecretStructsAreWalkedNotConverted(t *testing.T) {
	s := newSnap(t, Config{})
	c := creds{User: "alice", Pass: "hunter2xyz"}
	for name, v := range map[string]any{
		"value":          c,
		"pointer":        &c,
		"map value":      map[string]creds{"c": c},
		"map key":        map[creds]int{c: 1},
		"pointer key":    map[*creds]int{&c: 1},
		"slice":          []creds{c},
		"named by field": namedSecret{APIKey: "hunter2xyz"},
	} {
		t.Run(name, func(t *testing.T) {
			out := marshal(t, s.Value(nil, v))
			assert.NotContains(t, out, "hunter2xyz", "the secret field should be masked, got %s", out)
		})
	}
	assert.Equal(t, map[string]any{"User": "alice", "Pass": Masked}, s.Value(nil, c))
}

// exportedPtrStringer converts through a pointer method only.
type exportedPtrStringer struct{ N int }

func (p *exportedPtrStringer) String() string { return "S" + strconv.Itoa(p.N) }

// TestMapValuesAreNotAddressable checks that a map value never gets its
// type's pointer-method conversion, whatever the size of the map (as
// encoding/json: map values are not addressable).
func TestMapValuesAreNotAddressable(t *testing.T) {
	s := newSnap(t, Config{MaxItems: 2})
	small := s.Value(nil, map[string]exportedPtrStringer{"a": {1}}).(map[string]any)
	big := s.Value(nil, map[string]exportedPtrStringer{"a": {1}, "b": {2}, "c": {3}}).(map[string]any)
	assert.Equal(t, map[string]any{"N": int64(1)}, small["a"])
	assert.Equal(t, small["a"], big["a"], "a map value should convert the same in a small and in a cut map")
}

// maskIndexConfigs are the configs under which the index must agree with
// the word rules: the default one, and redact keys that start with bytes
// no default fragment starts with, one of them beyond ASCII.
var maskIndexConfigs = []Config{{}, {RedactKeys: []string{"Session-ID", "ssn", "Größe", "x9"}}, {AllowKeys: []string{"cookie"}}}

// TestMaskIndexAgreesWithWords checks that the index that spares most keys
// the split into words never keeps a key that the words would mask: keys
// built of secret words, their parts and ordinary words, in every case,
// glued and separated, with numbers and bytes beyond ASCII.
func TestMaskIndexAgreesWithWords(t *testing.T) {
	parts := []string{
		"password", "passwd", "pass", "word", "secret", "secrets", "credential", "credentials",
		"authorization", "cookie", "api", "key", "apikey", "private", "access", "token", "tokens",
		"Session", "ID", "ssn", "größe", "x9", "q", "model", "2", "é", "max",
	}
	seps := []string{"", "_", "-", ".", " ", "__"}
	cases := []func(string) string{func(s string) string { return s }, strings.ToUpper, func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	}}
	var keys []string
	for _, a := range parts {
		keys = append(keys, a)
		for _, b := range parts {
			for _, sep := range seps {
				for _, ca := range cases {
					for _, cb := range cases {
						keys = append(keys, ca(a)+sep+cb(b), "x"+sep+ca(a)+sep+cb(b)+sep+"1")
					}
				}
			}
		}
	}
	for _, cfg := range maskIndexConfigs {
		s := newSnap(t, cfg)
		masked := 0
		for _, k := range keys {
			want := s.maskedWords(k)
			if want {
				masked++
			}
			if s.masked(k) != want {
				t.Fatalf("config %+v: masked(%q) = %v, the words say %v", cfg, k, !want, want)
			}
		}
		assert.Greater(t, masked, len(keys)/10, "the keys should include many masked ones, or the test proves little")
		assert.Less(t, masked, len(keys), "the keys should include kept ones")
	}
}

// FuzzMaskIndex checks on any key that the index never keeps a key that
// the words would mask.
func FuzzMaskIndex(f *testing.F) {
	for _, k := range []string{"", "q", "api_key", "X-Session_Id", "pa_ss", "P-A-S-S-W-O-R-D", "größe_x", "tok\xffen", "x9Token"} {
		f.Add(k)
	}
	snaps := make([]*Snapshotter, len(maskIndexConfigs))
	for i, cfg := range maskIndexConfigs {
		snaps[i] = newSnap(f, cfg)
	}
	f.Fuzz(func(t *testing.T, key string) {
		for i, s := range snaps {
			if want := s.maskedWords(key); s.masked(key) != want {
				t.Fatalf("config %+v: masked(%q) = %v, the words say %v", maskIndexConfigs[i], key, !want, want)
			}
		}
	})
}

package values

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKeyTable is the table of real keys of issue 9: secrets are masked,
// token counts and words that merely contain a secret word are kept.
func TestKeyTable(t *testing.T) {
	s := newSnap(t, Config{})
	masked := []string{
		"password", "db_password", "passwd", "secret", "client_secret", "aws_secret_access_key",
		"token", "access_token", "refresh_token", "id_token", "auth_token", "api_token", "bearer_token",
		"github_token", "session_token", "x-auth-token", "api_key", "apiKey", "APIKey", "OPENAI_API_KEY",
		"X-Api-Key", "private_key", "PrivateKey", "authorization", "Proxy-Authorization", "cookie",
		"Set-Cookie", "credential", "credentials", "GOOGLE_APPLICATION_CREDENTIALS",
	}
	kept := []string{
		"max_tokens", "max_completion_tokens", "prompt_tokens", "completion_tokens", "total_tokens",
		"input_tokens", "output_tokens", "reasoning_tokens", "cached_tokens", "cache_creation_input_tokens",
		"PromptTokens", "TotalTokens", "TokenUsage", "token_count", "llm.token_count.prompt", "tokenizer",
		"num_tokens", "secretary", "keyboard",
	}
	for _, k := range masked {
		assert.True(t, s.masked(k), "%q names a secret and should be masked", k)
	}
	for _, k := range kept {
		assert.False(t, s.masked(k), "%q does not name a secret and should be kept", k)
	}
	in := map[string]any{}
	for _, k := range append(masked, kept...) {
		in[k] = secret
	}
	out := s.Map(nil, in)
	for _, k := range masked {
		assert.Equal(t, Masked, out[k], "the value under %q", k)
	}
	for _, k := range kept {
		assert.Equal(t, secret, out[k], "the value under %q", k)
	}
}

func TestKeyWords(t *testing.T) {
	s := newSnap(t, Config{})
	for key, want := range map[string]bool{
		"IDToken":        true, // acronym then word
		"oauth2Token":    true,
		"accesstoken":    true, // glued secret ending in token
		"token_2":        true,
		"apikey":         true,
		"secret_key":     true,
		"access key":     true, // spaces separate words
		"llm.api.key":    true,
		"keyboard_token": true,
		"tokens":         false,
		"token_limit":    false,
		"api":            false,
		"key":            false,
		"monkey":         false,
		"passwords_hash": false, // "passwords" is not a secret word
	} {
		assert.Equal(t, want, s.masked(key), "masked(%q)", key)
	}
}

func TestAllowAndRedactKeys(t *testing.T) {
	s := newSnap(t, Config{AllowKeys: []string{"cookie", "Session-Token"}, RedactKeys: []string{"session_id", "ssn"}})
	for key, want := range map[string]bool{
		"Cookie":         false, // allowed, case and separators ignored
		"session_token":  false,
		"SessionToken":   false,
		"auth_token":     true, // not allowed: default rules
		"set_cookie":     true, // allow keys match whole keys
		"SessionID":      true, // redact keys by words, glued or not
		"user_sessionid": true,
		"session":        false,
		"user_SSN":       true,
		"lessons":        false,
	} {
		assert.Equal(t, want, s.masked(key), "masked(%q)", key)
	}
	both := newSnap(t, Config{AllowKeys: []string{"ssn"}, RedactKeys: []string{"ssn"}})
	assert.True(t, both.masked("ssn"), "a redact key should win over an allow key")
	_, err := New(Config{AllowKeys: []string{" - "}})
	require.ErrorIs(t, err, ErrInvalidConfig, "an allow key without a letter or digit should be refused")
	_, err = New(Config{SecretTypes: []reflect.Type{nil}})
	require.ErrorIs(t, err, ErrInvalidConfig, "a nil secret type should be refused")
}

// taggedItem holds a secret behind a tag.
type taggedItem struct {
	User string
	Key  string `flowtrace:"secret"`
}

// printsAll prints everything it holds with %v: it would print the
// taggedItem field of its items.
type printsAll struct{ Items []taggedItem }

func (p printsAll) String() string { return fmt.Sprintf("%v", p.Items) }

// marshalsAll marshals a map of taggedItem structs with encoding/json.
type marshalsAll map[string]*taggedItem

func (m marshalsAll) MarshalJSON() ([]byte, error) {
	plain := map[string]map[string]string{}
	for k, v := range m {
		plain[k] = map[string]string{"user": v.User, "key": v.Key}
	}
	return json.Marshal(plain)
}

// AuthError has a field masked by its name.
type AuthError struct{ Token string }

func (e AuthError) Error() string { return "auth failed with " + e.Token }

func TestContainersOfSecretsAreWalked(t *testing.T) {
	s := newSnap(t, Config{})
	const key = "sk-live-CONTAINED"
	for name, v := range map[string]any{
		"String of a slice of taggedItem": printsAll{Items: []taggedItem{{User: "u", Key: key}}},
		"MarshalJSON of a map":            marshalsAll{"a": {User: "u", Key: key}},
		"pointer to a String":             &printsAll{Items: []taggedItem{{Key: key}}},
		"in a map under an innocent key":  map[string]any{"v": printsAll{Items: []taggedItem{{Key: key}}}},
	} {
		t.Run(name, func(t *testing.T) {
			out := marshal(t, s.Value(nil, v))
			assert.NotContains(t, out, key, "a value whose methods could print a secret should be walked, got %s", out)
			assert.Contains(t, out, Masked)
		})
	}
}

func TestWrappedErrors(t *testing.T) {
	s := newSnap(t, Config{})
	const key = "tok-WRAPPED-123"
	short := AuthError{Token: "pw"} // shorter than MinSecretLen: still masked, by the message it prints
	for name, err := range map[string]error{
		"direct":     AuthError{Token: key},
		"pointer":    &AuthError{Token: key},
		"%w":         fmt.Errorf("calling api: %w", AuthError{Token: key}),
		"%w twice":   fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", &AuthError{Token: key})),
		"Join":       errors.Join(errors.New("first"), AuthError{Token: key}),
		"%w of Join": fmt.Errorf("x: %w", errors.Join(AuthError{Token: key}, short)),
		"short":      fmt.Errorf("x: %w", short),
	} {
		t.Run(name, func(t *testing.T) {
			b := s.NewBudget()
			out := marshal(t, s.Value(&b, err))
			assert.NotContains(t, out, key)
			assert.NotContains(t, out, "with pw", "the message of a secret error should be replaced")
			assert.Contains(t, out, Masked)
			if name != "short" {
				assert.Contains(t, b.Found(), key, "the secret should be remembered for the run")
			}
		})
	}
	assert.Equal(t, "calling api: map[Token:*****]", s.Value(nil, fmt.Errorf("calling api: %w", AuthError{Token: key})),
		"the wrapper's own text should be kept")
}

func TestURLUserInfo(t *testing.T) {
	s := newSnap(t, Config{})
	u, err := url.Parse("postgres://app:pw-SECRET-1@db:5432/x?sslmode=off")
	require.NoError(t, err)
	tok, err := url.Parse("https://ghp_TOKEN123456@github.com/o/r.git")
	require.NoError(t, err)
	for name, tt := range map[string]struct {
		v      any
		want   string
		secret string
	}{
		"url.URL":         {*u, "postgres://app:*****@db:5432/x?sslmode=off", "pw-SECRET-1"},
		"*url.URL":        {u, "postgres://app:*****@db:5432/x?sslmode=off", "pw-SECRET-1"},
		"user only":       {tok, "https://*****@github.com/o/r.git", "ghp_TOKEN123456"},
		"*url.Userinfo":   {u.User, Masked, "pw-SECRET-1"},
		"string":          {"connect to postgres://app:pw-SECRET-1@db:5432/x now", "connect to postgres://app:*****@db:5432/x now", "pw-SECRET-1"},
		"two in a string": {"a=https://u:p4ssw0rd!@h/x b=redis://:hunter2hunter2@cache", "a=https://u:*****@h/x b=redis://:*****@cache", "hunter2hunter2"},
		"no user info":    {"see https://example.com/a@b and http://h:80/", "see https://example.com/a@b and http://h:80/", ""},
	} {
		t.Run(name, func(t *testing.T) {
			b := s.NewBudget()
			got := s.Value(&b, tt.v)
			assert.Equal(t, tt.want, got)
			if tt.secret != "" {
				assert.Contains(t, b.Found(), tt.secret, "the URL's secret should be remembered")
			}
		})
	}
	assert.Equal(t, map[string]any{"u": "postgres://app:*****@db:5432/x?sslmode=off"}, s.Value(nil, map[string]*url.URL{"u": u}))
}

func TestJSONTextKeys(t *testing.T) {
	s := newSnap(t, Config{})
	body := []byte(`{"api_key":"sk-live-0123456789abcdefghij","model":"gpt"}`)
	out := s.Value(nil, body)
	assert.NotContains(t, out, "sk-live", "the prefix of a []byte should not show a masked key's value")
	assert.Contains(t, out, `api_key\":\"*****`)
	cut := []byte(`{"n":1,"password":"hunter2-hunter2-hunter2-hunter2"}`)
	assert.NotContains(t, s.Value(nil, cut), "hunter2", "a value cut by the prefix should be masked to its end")
	for in, want := range map[string]string{
		`{"token": "abcdefghij", "max_tokens": 12}`: `{"token": "*****", "max_tokens": 12}`,
		`{"password":12345678,"a":[1]}`:             `{"password":*****,"a":[1]}`,
		`{"secret":{"a":"b"},"x":1}`:                `{"secret":*****,"x":1}`,
		`{\"api_key\":\"abc\"}`:                     `{\"api_key\":\"*****\"}`,
		`"q": "x"`:                                  `"q": "x"`,
	} {
		assert.Equal(t, want, s.Value(nil, in), "the JSON text %s", in)
	}
}

// Secret stands for the root package's Secret type.
type Secret string

func (Secret) String() string { return Masked }

// valuer records itself as a map.
type valuer struct{ q, key string }

func (v valuer) TraceValue() any    { return map[string]any{"q": v.q, "api_key": v.key} }
func (v valuer) String() string     { return "q=" + v.q + " key=" + v.key }
func (loop) TraceValue() any        { return loop{} }
func (panicky) TraceValue() any     { panic("boom") }
func (v valuerPtr) TraceValue() any { return "ptr " + v.s }

type (
	loop      struct{}
	panicky   struct{}
	valuerPtr struct{ s string }
)

func TestSecretTypesAndValuers(t *testing.T) {
	s := newSnap(t, Config{SecretTypes: []reflect.Type{reflect.TypeFor[Secret]()}})
	const key = "sk-TYPED-SECRET"
	type holder struct {
		Plain Secret
		Ptr   *Secret
	}
	k := Secret(key)
	b := s.NewBudget()
	out := s.Value(&b, map[string]any{"innocent": k, "h": holder{Plain: k, Ptr: &k}, "list": []Secret{k}})
	j := marshal(t, out)
	assert.NotContains(t, j, key)
	assert.Equal(t, map[string]any{"innocent": Masked, "h": map[string]any{"Plain": Masked, "Ptr": Masked}, "list": []any{Masked}}, out)
	assert.Contains(t, b.Found(), key, "a Secret should be remembered")

	assert.Equal(t, map[string]any{"q": "hello", "api_key": Masked}, s.Value(nil, valuer{q: "hello", key: key}),
		"a Valuer should be recorded as what TraceValue returns, masked")
	assert.Equal(t, MarkerDepth, s.Value(nil, loop{}), "a Valuer returning itself should stop at MaxDepth")
	assert.Equal(t, "!panic in TraceValue: boom", s.Value(nil, panicky{}))
	assert.Equal(t, "ptr x", s.Value(nil, &valuerPtr{"x"}))
}

func TestSeenSecretsAreScrubbed(t *testing.T) {
	s := newSnap(t, Config{})
	const key = "sk-live-SEEN-ONCE"
	b := s.NewBudget()
	in := s.Map(&b, map[string]any{"api_key": key, "q": "x"})
	require.Equal(t, Masked, in["api_key"])
	seen := (*Secrets)(nil).With(b.Found())
	require.Equal(t, 1, seen.Len(), "the masked string should be found")
	assert.Same(t, seen, seen.With([]string{key, "short"}), "nothing new should keep the set")

	later := s.NewBudget()
	later.Seen = seen
	out := s.Value(&later, map[string]any{
		"log":        "calling with " + key,
		"json":       `{"auth":"` + key + `"}`,
		"err":        errors.New("rejected " + key),
		"stringer":   fuzzStringer{key + "!"},
		"key " + key: 1,
		"bytes":      []byte("k=" + key),
		"straddling": []byte(strings.Repeat("x", 28) + key),
	})
	assert.NotContains(t, marshal(t, out), key, "a secret seen once should be masked everywhere later")
	assert.Equal(t, "calling with "+Masked, out.(map[string]any)["log"])
	assert.NotContains(t, out.(map[string]any)["straddling"], "sk-l", "a secret cut by the []byte prefix should not show its start")

	// A secret found later in the same event is scrubbed by snapshotting
	// the event again with it known (the root package's write path).
	ev := s.NewBudget()
	s.Value(&ev, map[string]any{"a": "before " + key})
	s.Map(&ev, map[string]any{"token": key})
	again := s.NewBudget()
	again.Seen = (*Secrets)(nil).With(ev.Found())
	first := s.Value(&again, map[string]any{"a": "before " + key})
	second := s.Map(&again, map[string]any{"token": key})
	assert.Equal(t, map[string]any{"a": "before " + Masked}, first)
	assert.Equal(t, map[string]any{"token": Masked}, second)
}

func TestSecretsLongestFirst(t *testing.T) {
	set := (*Secrets)(nil).With([]string{"abcdefgh", "abcdefgh-longer"})
	assert.Equal(t, "x "+Masked+" y "+Masked, set.Scrub("x abcdefgh-longer y abcdefgh"))
	assert.Equal(t, "short", set.Scrub("short"))
	var none *Secrets
	assert.Equal(t, "abcdefgh", none.Scrub("abcdefgh"))
	assert.Equal(t, 0, none.Len())
	assert.True(t, strings.HasPrefix(set.Scrub("abcdefgh-longer"), Masked))
}

// unexportedHolder prints an unexported slice of tagged items.
type unexportedHolder struct{ items []taggedItem }

func (u unexportedHolder) String() string { return fmt.Sprint(u.items) }

// anyHolder prints what its interface field holds.
type anyHolder struct {
	Title string
	V     any
}

func (a *anyHolder) String() string { return fmt.Sprintf("%s %+v", a.Title, a.V) }

func (a anyHolder) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"title": a.Title, "v": fmt.Sprint(a.V)})
}

func TestSecretsBehindInterfacesAreFound(t *testing.T) {
	s := newSnap(t, Config{SecretTypes: []reflect.Type{reflect.TypeFor[Secret]()}})
	const key = "sk-live-BEHIND-ANY"
	for name, v := range map[string]any{
		"unexported field":         unexportedHolder{items: []taggedItem{{Key: key}}},
		"any field, String":        &anyHolder{Title: "t", V: taggedItem{Key: key}},
		"any field, MarshalJSON":   anyHolder{Title: "t", V: []any{map[string]any{"x": &taggedItem{Key: key}}}},
		"any field, secret type":   anyHolder{Title: "t", V: Secret(key)},
		"any field, wrapped error": anyHolder{Title: "t", V: fmt.Errorf("x: %w", AuthError{Token: key})},
	} {
		t.Run(name, func(t *testing.T) {
			out := marshal(t, s.Value(nil, v))
			assert.NotContains(t, out, key, "got %s", out)
		})
	}
	assert.Equal(t, map[string]any{"title": "t", "v": "plain"}, s.Value(nil, anyHolder{Title: "t", V: "plain"}),
		"without a secret behind the interface, MarshalJSON is called")
}

// opaqueErr hides its secret in an unexported field, and prints it.
type opaqueErr struct {
	code  int
	token string
}

func (e *opaqueErr) Error() string { return fmt.Sprintf("denied (%d) for %s", e.code, e.token) }

func TestOpaqueErrorsKeepTheirMessage(t *testing.T) {
	s := newSnap(t, Config{})
	for name, tt := range map[string]struct {
		err  error
		want string
	}{
		"direct":  {&opaqueErr{code: 7, token: "t0k"}, "denied (7) for *****"},
		"wrapped": {fmt.Errorf("call: %w", &opaqueErr{code: 7, token: "tok-123456789"}), "call: denied (7) for *****"},
	} {
		t.Run(name, func(t *testing.T) {
			b := s.NewBudget()
			assert.Equal(t, tt.want, s.Value(&b, tt.err))
		})
	}
	b := s.NewBudget()
	s.Value(&b, fmt.Errorf("call: %w", &opaqueErr{token: "tok-123456789"}))
	assert.Contains(t, b.Found(), "tok-123456789", "the hidden secret should be remembered")
}

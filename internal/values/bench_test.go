package values

import (
	"strings"
	"testing"
	"time"
)

type benchUser struct {
	ID       int64     `json:"id"`
	Name     string    `json:"name"`
	Email    string    `json:"email"`
	Password string    `json:"password"`
	Tags     []string  `json:"tags"`
	Created  time.Time `json:"created"`
	Address  *benchAddress
}

type benchAddress struct {
	Street, City string
	Zip          int
}

func benchSnapshot(b *testing.B, v map[string]any) {
	b.Helper()
	s := mustNew(Config{})
	b.ReportAllocs()
	for b.Loop() {
		bud := s.NewBudget()
		_ = s.Map(&bud, v)
	}
}

func BenchmarkSmallMap(b *testing.B) {
	benchSnapshot(b, map[string]any{"q": "hello", "n": 3, "ok": true})
}

func BenchmarkSmallMapParallel(b *testing.B) {
	s := mustNew(Config{})
	m := map[string]any{"q": "hello", "n": 3, "ok": true}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bud := s.NewBudget()
			_ = s.Map(&bud, m)
		}
	})
}

func BenchmarkEmptyMap(b *testing.B) {
	benchSnapshot(b, map[string]any{})
}

func BenchmarkNestedMap(b *testing.B) {
	benchSnapshot(b, map[string]any{
		"model":    "gpt-4o",
		"messages": []any{map[string]any{"role": "system", "content": "be brief"}, map[string]any{"role": "user", "content": "hello"}},
		"params":   map[string]any{"temperature": 0.2, "max_tokens": 512, "stop": []string{"\n\n"}},
		"headers":  map[string]string{"Content-Type": "application/json", "X-Request-Id": "abc"},
	})
}

func BenchmarkStruct(b *testing.B) {
	u := &benchUser{ID: 42, Name: "Ada", Email: "ada@example.com", Password: "hunter2", Tags: []string{"a", "b"},
		Created: time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC), Address: &benchAddress{"1 Main St", "Springfield", 12345}}
	benchSnapshot(b, map[string]any{"user": u})
}

func BenchmarkHugeString(b *testing.B) {
	benchSnapshot(b, map[string]any{"body": strings.Repeat("x", 50<<20)})
}

func BenchmarkMaskedKeys(b *testing.B) {
	benchSnapshot(b, map[string]any{"api_key": "sk-1", "Authorization": "Bearer x", "user_password": "p", "q": "hello"})
}

// BenchmarkSeen measures the scrubbing of seen secrets in the snapshot of
// a typical map: with no set (a run that had no secret), and with sets of
// 1 and 16 secrets, none of which occurs in the map.
func BenchmarkSeen(b *testing.B) {
	s := mustNew(Config{})
	m := map[string]any{
		"prompt": "What is the capital of France? Answer in one word, please.",
		"model":  "gpt-4o-mini", "max_tokens": 64, "temperature": 0.2,
		"messages": []any{map[string]any{"role": "user", "content": "What is the capital of France?"}},
	}
	for _, n := range []int{0, 1, 16} {
		var found []string
		for i := range n {
			found = append(found, "sk-live-"+strings.Repeat(string(rune('a'+i)), 24))
		}
		seen := (*Secrets)(nil).With(found)
		b.Run("secrets="+string(rune('0'+n/10))+string(rune('0'+n%10)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bud := s.NewBudget()
				bud.Seen = seen
				_ = s.Map(&bud, m)
			}
		})
	}
}

// BenchmarkScrub measures Secrets.Scrub alone on a 60-byte string that
// holds none of the secrets: the cost per recorded string of a run that
// has seen 1 or 16 of them.
func BenchmarkScrub(b *testing.B) {
	x := "What is the capital of France? Answer in one word, please!!"
	for _, n := range []int{1, 16} {
		var found []string
		for i := range n {
			found = append(found, "sk-live-"+strings.Repeat(string(rune('a'+i)), 24))
		}
		seen := (*Secrets)(nil).With(found)
		b.Run("secrets="+string(rune('0'+n/10))+string(rune('0'+n%10)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = seen.Scrub(x)
			}
		})
	}
}

// BenchmarkComponentValues measures the snapshots of one traced component
// as the root package takes them, each event with its own Budget: inputs
// of 3 small entries, a log whose message is a string (Keyed by the log's
// name), and outputs of 2 entries.
func BenchmarkComponentValues(b *testing.B) {
	s := mustNew(Config{})
	inputs := map[string]any{"q": "hello", "model": "gpt-4o-mini", "n": 3}
	outputs := map[string]any{"text": "world", "tokens": 42}
	b.ReportAllocs()
	for b.Loop() {
		bi := s.NewBudget()
		_ = s.Map(&bi, inputs)
		bl := s.NewBudget()
		_ = s.Keyed(&bl, "prompt", "hello")
		bo := s.NewBudget()
		_ = s.Map(&bo, outputs)
	}
}

// BenchmarkKeyedString measures the snapshot of a log whose message is a
// short string.
func BenchmarkKeyedString(b *testing.B) {
	s := mustNew(Config{})
	b.ReportAllocs()
	for b.Loop() {
		bud := s.NewBudget()
		_ = s.Keyed(&bud, "prompt", "hello")
	}
}

// BenchmarkValueString measures Value of a short string.
func BenchmarkValueString(b *testing.B) {
	s := mustNew(Config{})
	b.ReportAllocs()
	for b.Loop() {
		bud := s.NewBudget()
		_ = s.Value(&bud, "hello")
	}
}

// BenchmarkMasked measures the masking decision alone over the keys of a
// typical component, none of them masked, and a few that are.
func BenchmarkMasked(b *testing.B) {
	s := mustNew(Config{})
	for _, tc := range []struct {
		name string
		keys []string
	}{
		{"plain", []string{"q", "model", "n", "text", "tokens", "prompt"}},
		{"long", []string{"max_tokens", "temperature", "TokenUsage", "messages", "Content-Type", "X-Request-Id"}},
		{"secret", []string{"api_key", "Authorization", "user_password", "access_token", "X-Api-Key", "PrivateKey"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				for _, k := range tc.keys {
					_ = s.masked(k)
				}
			}
		})
	}
}

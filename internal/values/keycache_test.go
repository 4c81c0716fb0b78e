package values

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKeyCacheKeepsTheRules checks that a key decided from the cache is
// decided as the rules decide it: the second snapshot of each map, whose
// keys all hit, equals the first, and each key's decision equals the
// rules', for the default Config and for one with redact and allow keys
// (a cache is a Snapshotter's own: the same key is decided apart).
func TestKeyCacheKeepsTheRules(t *testing.T) {
	keys := []string{"q", "model", "max_tokens", "TokenUsage", "api_key", "X-Api-Key", "Authorization",
		"access_token", "session_key", "SessionKey", "password2", "é_password", "a:b", "http://u:pw@h",
		strings.Repeat("k", maxCachedKey), strings.Repeat("k", maxCachedKey+1) + "_token"}
	for _, cfg := range []Config{{}, {RedactKeys: []string{"session_key"}, AllowKeys: []string{"access_token"}}} {
		t.Run(fmt.Sprint(cfg.RedactKeys), func(t *testing.T) {
			s := newSnap(t, cfg)
			rules := newSnap(t, cfg)
			m := map[string]any{}
			for _, k := range keys {
				m[k] = "value of " + k
			}
			b1 := s.NewBudget()
			first := marshal(t, s.Map(&b1, m))
			b2 := s.NewBudget()
			second := marshal(t, s.Map(&b2, m))
			assert.Equal(t, first, second, "a snapshot from cached keys should equal the first")
			assert.Equal(t, b1.Used(), b2.Used(), "cached keys should charge the budget alike")
			for _, k := range keys {
				assert.Equal(t, rules.maskedRules(k), s.masked(k), "key %q: the cache should decide as the rules", k)
			}
		})
	}
}

// TestKeyCacheSlotTaken checks that a key whose slot holds another key is
// decided by the rules: every key of a set much larger than the table is
// masked as the rules say, and the table never holds more than its slots.
func TestKeyCacheSlotTaken(t *testing.T) {
	s := newSnap(t, Config{})
	for round := range 2 {
		for i := range 4 * keyCacheSize {
			k := fmt.Sprintf("field_%d", i)
			if i%3 == 0 {
				k = fmt.Sprintf("key_%d_token", i)
			}
			require.Equal(t, s.maskedRules(k), s.masked(k), "round %d, key %q", round, k)
		}
	}
	for i := range s.cache.slots {
		if e := s.cache.slots[i].Load(); e != nil {
			assert.Equal(t, s.cache.slot(e.key), &s.cache.slots[i], "an entry should sit in its key's slot")
		}
	}
}

// TestKeyCacheScrubsSeenSecrets checks that a key cached as recorded as it
// is is still scrubbed of a run's secrets, and that a key holding a
// secret is not cached as such for the runs that have not seen it.
func TestKeyCacheScrubsSeenSecrets(t *testing.T) {
	s := newSnap(t, Config{})
	secret := "sk-live-abcdefgh"
	key := "x" + secret
	m := map[string]any{key: 1}
	b := s.NewBudget()
	got := s.Map(&b, m)
	assert.Contains(t, got, key, "without secrets the key is kept")

	seen := (*Secrets)(nil).With([]string{secret})
	b = s.NewBudget()
	b.Seen = seen
	got = s.Map(&b, m)
	assert.Contains(t, got, "x"+Masked, "a cached key should still be scrubbed of the run's secrets")

	b = s.NewBudget()
	got = s.Map(&b, m)
	assert.Contains(t, got, key, "a key scrubbed for one run is kept for another")
}

// TestKeyCacheURLKeysNotSized checks that a key that clean masks (a URL
// with user info) is masked on every snapshot, not cached as recorded as
// it is, and that its secret is found each time.
func TestKeyCacheURLKeysNotSized(t *testing.T) {
	s := newSnap(t, Config{})
	m := map[string]any{"https://app:hunter2hunter2@db": 1}
	for range 2 {
		b := s.NewBudget()
		got := s.Map(&b, m)
		assert.Contains(t, got, "https://app:"+Masked+"@db", "the key's password is masked")
		assert.Contains(t, b.Found(), "hunter2hunter2", "the key's password is found as a secret")
	}
}

// TestKeyCacheConcurrent snapshots maps of shared keys from many
// goroutines at once: under -race this checks the table's atomics, and
// every snapshot must mask as the rules do.
func TestKeyCacheConcurrent(t *testing.T) {
	s := newSnap(t, Config{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				k := fmt.Sprintf("k%d", (g+i)%64)
				m := map[string]any{k: "v", "api_key": "sk", "model": "m"}
				b := s.NewBudget()
				got := s.Map(&b, m)
				if got["api_key"] != Masked || got[k] != "v" || got["model"] != "m" {
					t.Errorf("snapshot %v: want api_key masked and the rest kept", got)
					return
				}
			}
		}()
	}
	wg.Wait()
}

package values

import (
	"strings"
	"sync/atomic"
)

// A process records the same few keys over and over ("model", "messages",
// "max_tokens"), and whether a key is masked depends only on the key and
// the Config. keyCache remembers it, with the JSON size of the key's entry
// when the key is recorded as it is, so that a map entry costs a hash and
// a comparison where the rules cost a scan of the key, and its split into
// words when a fragment of a masked key ends a word of it ("api_key",
// "max_tokens").
//
// It is a direct-mapped table of immutable entries, read and written with
// atomic pointers: lookups take no lock and allocate nothing. A slot is
// filled once and never replaced by another key (only completed with the
// size of its own), so that the table costs at most keyCacheSize small
// allocations over the Snapshotter's life, whatever keys it is shown, and
// keys of high cardinality (IDs used as keys) cannot make every snapshot
// allocate. A key that finds its slot taken by another is decided by the
// rules, as without a cache. Keys longer than maxCachedKey are not cached,
// which bounds the memory the table keeps at about 40 KiB.
type keyCache struct {
	slots [keyCacheSize]atomic.Pointer[keyEntry]
}

const (
	keyCacheSize = 512
	maxCachedKey = 32
)

// keyEntry is what the cache knows of a key. It is never modified once
// stored.
type keyEntry struct {
	key    string
	masked bool
	// size is the JSON size of the key's entry (see walker.key) when the
	// key is recorded as it is: valid UTF-8, within MaxString, no text
	// that clean would mask. It is -1 when the entry was made by masked,
	// which does not measure the key, or when the key is not recorded as
	// it is.
	size int32
}

func newKeyCache() *keyCache { return new(keyCache) }

// slot returns the slot of key.
func (c *keyCache) slot(key string) *atomic.Pointer[keyEntry] {
	return &c.slots[keyHash(key)>>(64-keyCacheBits)]
}

const keyCacheBits = 9 // log2(keyCacheSize)

// keyHash hashes a key from its length and its first and last 8 bytes
// (fewer for a shorter key), in a few nanoseconds where hash/maphash took
// as long as the rules for a short key. Keys that differ only in their
// middle collide: one of them is then decided by the rules each time,
// which is the cost without a cache, and all a hostile caller can force.
func keyHash(k string) uint64 {
	var a, b uint64
	switch n := len(k); {
	case n >= 8:
		a, b = le64(k), le64(k[n-8:])
	case n >= 4:
		a, b = le32(k), le32(k[n-4:])
	case n > 0:
		a = uint64(k[0])<<16 | uint64(k[n/2])<<8 | uint64(k[n-1])
	}
	h := (a^0x9e3779b97f4a7c15)*0xbf58476d1ce4e5b9 ^ (b^uint64(len(k)))*0x94d049bb133111eb
	return h ^ h>>29
}

func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func le32(s string) uint64 {
	_ = s[3]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24
}

// get returns the entry of key, or nil.
func (c *keyCache) get(key string) *keyEntry {
	if len(key) > maxCachedKey {
		return nil
	}
	if e := c.slot(key).Load(); e != nil && e.key == key {
		return e
	}
	return nil
}

// put stores e in its slot if the slot is empty, or holds the same key
// without its size.
func (c *keyCache) put(e *keyEntry) {
	if len(e.key) > maxCachedKey {
		return
	}
	s := c.slot(e.key)
	old := s.Load()
	switch {
	case old == nil:
		s.CompareAndSwap(nil, e)
	case old.key == e.key && old.size < 0 && e.size >= 0:
		s.CompareAndSwap(old, e)
	}
}

// masked reports whether the value under key is masked: by a redact key of
// the Config, by the default rules (unless the key is allowed). It does
// not allocate for keys of up to 16 words, nor for keys it has decided
// before (see keyCache), except once for each of the first keys.
func (s *Snapshotter) masked(key string) bool {
	if e := s.cache.get(key); e != nil {
		return e.masked
	}
	m := s.maskedRules(key)
	if len(key) <= maxCachedKey {
		s.cache.put(&keyEntry{key: strings.Clone(key), masked: m, size: -1})
	}
	return m
}

// entryKey returns what kv needs of a map key: the key as recorded (cleaned
// and cut by walker.key), the JSON size of its entry, and whether the
// value under it is masked.
func (w *walker) entryKey(key string) (k string, size int, masked bool) {
	c := w.s.cache
	e := c.get(key)
	if e != nil && e.size >= 0 && (w.seen == nil || len(key) < MinSecretLen || w.seen.Scrub(key) == key) {
		return key, int(e.size), e.masked
	}
	k, size = w.key(key)
	if e != nil {
		masked = e.masked
	} else {
		masked = w.s.maskedRules(key)
	}
	if len(key) <= maxCachedKey {
		sz := int32(-1)
		// Recorded as it is, with no text that clean would mask (no
		// secret of the run either, as the lookup checks each time):
		// only such keys have a size that holds for every snapshot.
		if k == key && strings.IndexByte(key, ':') < 0 {
			sz = int32(size)
		}
		if e == nil || sz >= 0 {
			c.put(&keyEntry{key: strings.Clone(key), masked: masked, size: sz})
		}
	}
	return k, size, masked
}

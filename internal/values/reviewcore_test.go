package values

import (
	"fmt"
	"testing"
)

// TestReviewCoreKeyCacheManyKeys: 10,000 distinct keys (plain, masked by
// the rules, invalid UTF-8, needing JSON escapes, cut by a small
// MaxString, differing only in their middle so that they collide) are
// snapshotted twice through one Snapshotter, whose table fills with the
// first of them; each snapshot, and the budget it charges, must equal
// that of a Snapshotter that has never seen a key.
func TestReviewCoreKeyCacheManyKeys(t *testing.T) {
	for _, cfg := range []Config{{}, {MaxString: 12, RedactKeys: []string{"field_7"}}} {
		t.Run(fmt.Sprint(cfg.MaxString), func(t *testing.T) {
			warm := newSnap(t, cfg)
			keys := make([]string, 0, 10_000)
			for i := range cap(keys) {
				var k string
				switch i % 6 {
				case 0:
					k = fmt.Sprintf("field_%d", i)
				case 1:
					k = fmt.Sprintf("key_%d_token", i)
				case 2:
					k = fmt.Sprintf("x\xff%d\xc3", i)
				case 3:
					k = fmt.Sprintf("q\"\\\n%d", i)
				case 4:
					k = fmt.Sprintf("abcdefgh%05dijklmnop", i) // same first and last 8 bytes
				default:
					k = fmt.Sprintf("api_key%d", i%7)
				}
				keys = append(keys, k)
			}
			for round := range 2 {
				for _, k := range keys {
					m := map[string]any{k: "v", "field_7": "w"}
					cold := newSnap(t, cfg)
					bc := cold.NewBudget()
					want := marshal(t, cold.Map(&bc, m))
					bw := warm.NewBudget()
					got := marshal(t, warm.Map(&bw, m))
					if got != want || bc.Used() != bw.Used() {
						t.Fatalf("round %d, key %q: cached %s (%d bytes), uncached %s (%d bytes)", round, k, got, bw.Used(), want, bc.Used())
					}
					fc := cold.NewBudget()
					fw := warm.NewBudget()
					if a, b := fmt.Sprint(cold.FieldsInto(&fc, m, nil)), fmt.Sprint(warm.FieldsInto(&fw, m, nil)); a != b || fc.Used() != fw.Used() {
						t.Fatalf("round %d, key %q: fields cached %s (%d), uncached %s (%d)", round, k, b, fw.Used(), a, fc.Used())
					}
				}
			}
		})
	}
}

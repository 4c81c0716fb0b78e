package values

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type raceRecord struct {
	Name  string
	Tags  []string
	Attrs map[string]any
}

// TestMutateAfterSnapshot mutates the caller's values on another goroutine
// right after the snapshot returns, while this goroutine reads the
// snapshot: under -race this proves that they share no memory.
func TestMutateAfterSnapshot(t *testing.T) {
	s := newSnap(t, Config{})
	for i := range 50 {
		nested := map[string]any{"a": 1, "list": []any{"x", map[string]any{"deep": "y"}}}
		rec := &raceRecord{Name: "r", Tags: []string{"t"}, Attrs: map[string]any{"k": "v"}}
		in := map[string]any{
			"q":      "hello",
			"nested": nested,
			"ss":     []string{"a", "b"},
			"ms":     map[string]string{"k": "v"},
			"rec":    rec,
			"ints":   map[int]int{1: 1},
			"bytes":  []byte("abc"),
		}
		b := s.NewBudget()
		got := s.Map(&b, in)
		want := marshal(t, got)

		done := make(chan struct{})
		go func() {
			defer close(done)
			for j := range 100 {
				in["q"] = j
				in[fmt.Sprint("new", j)] = j
				nested["a"] = j
				nested["list"].([]any)[0] = j
				nested["list"].([]any)[1].(map[string]any)["deep"] = j
				in["ss"].([]string)[0] = "changed"
				in["ms"].(map[string]string)["k"] = "changed"
				rec.Name = "changed"
				rec.Tags[0] = "changed"
				rec.Attrs["k"] = j
				in["ints"].(map[int]int)[1] = j
				in["bytes"].([]byte)[0] = 'z'
			}
		}()
		for range 20 {
			assert.Equal(t, want, marshal(t, got), "iteration %d: the snapshot should not change with the caller's value", i)
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			require.FailNow(t, "the mutating goroutine should finish")
		}
		assert.Equal(t, want, marshal(t, got), "iteration %d: the snapshot should not change with the caller's value", i)
	}
}

// TestConcurrentSnapshots uses one Snapshotter from many goroutines, so
// that its type cache is filled concurrently.
func TestConcurrentSnapshots(t *testing.T) {
	s := newSnap(t, Config{Redactor: func(path []string, v any) (any, bool) { return nil, false }})
	type local struct {
		A        int
		Password string
	}
	var wg sync.WaitGroup
	results := make([]any, 8)
	for g := range results {
		wg.Go(func() {
			var last any
			for range 100 {
				b := s.NewBudget()
				last = s.Value(&b, []any{local{A: 1, Password: "p"}, &raceRecord{Name: "n"}, map[int]string{1: "a"}})
			}
			results[g] = last
		})
	}
	wg.Wait()
	for g, r := range results {
		assert.Equal(t, results[0], r, "goroutine %d should get the same snapshot as goroutine 0", g)
	}
}

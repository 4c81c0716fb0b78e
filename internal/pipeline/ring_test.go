package pipeline

import (
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRingFillsAndDrainsInOrder(t *testing.T) {
	r := newRing[any, any](5)
	require.Equal(t, 8, r.capacity(), "capacity rounds up to a power of two")
	for i := range 8 {
		require.True(t, r.push(nil, Event[any]{Data: i}), "push %d into a ring of 8", i)
	}
	assert.False(t, r.push(nil, Event[any]{Data: 8}), "a full ring refuses")
	for round := range 3 { // wrap around several times
		for i := range 8 {
			_, ev, ok := r.pop()
			require.True(t, ok)
			require.Equal(t, round*8+i, ev.Data)
			require.True(t, r.push(nil, Event[any]{Data: (round+1)*8 + i}))
		}
	}
	assert.True(t, r.ready())
}

func TestRingOfOneStillRefusesWhenFull(t *testing.T) {
	r := newRing[any, any](1)
	require.Equal(t, 2, r.capacity(), "the smallest ring has two slots")
	require.True(t, r.push(nil, Event[any]{Data: 0}))
	require.True(t, r.push(nil, Event[any]{Data: 1}))
	require.False(t, r.push(nil, Event[any]{Data: 2}), "a full ring must refuse, not overwrite")
	for i := range 2 {
		_, ev, ok := r.pop()
		require.True(t, ok)
		require.Equal(t, i, ev.Data)
	}
	_, _, ok := r.pop()
	assert.False(t, ok)
}

func TestRingManyProducersLoseNothing(t *testing.T) {
	const producers, each = 8, 5000
	r := newRing[any, any](64)
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; {
				if r.push(nil, Event[any]{Data: [2]int{p, i}}) {
					i++
				}
			}
		}()
	}
	next := make([]int, producers)
	got := 0
	for got < producers*each {
		_, ev, ok := r.pop()
		if !ok {
			continue
		}
		v := ev.Data.([2]int)
		require.Equal(t, next[v[0]], v[1], "events of one producer stay in order")
		next[v[0]]++
		got++
	}
	wg.Wait()
	_, _, ok := r.pop()
	assert.False(t, ok)
}

func TestGate(t *testing.T) {
	var g Gate
	require.True(t, g.Enter())
	first, empty := g.Close()
	assert.True(t, first)
	assert.False(t, empty, "a writer is inside")
	assert.False(t, g.Enter(), "a closed gate refuses")
	assert.True(t, g.Leave(), "the last writer out of a closed gate is told")
	first, _ = g.Close()
	assert.False(t, first, "closing twice reports not first")

	var w Gate
	require.True(t, w.Enter())
	done := make(chan bool)
	go func() { done <- w.CloseAndWait() }()
	// CloseAndWait cannot return while the writer is inside; let it out.
	for !w.Closed() {
		runtime.Gosched() // CloseAndWait closes the gate before it waits
	}
	w.Leave()
	assert.True(t, <-done)
	assert.False(t, w.CloseAndWait())
}

package goid

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGetTellsGoroutinesApart(t *testing.T) {
	me := Get()
	require.Positive(t, me)
	assert.Equal(t, me, Get(), "the same goroutine, the same id")
	other := make(chan int64)
	go func() { other <- Get() }()
	id := <-other
	assert.Positive(t, id)
	assert.NotEqual(t, me, id)
}

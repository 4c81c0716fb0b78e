package pipeline

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// TestRunLaneLayout checks that a runLane keeps the worker's fields and the
// producers' fields on separate cache lines (see runLane).
func TestRunLaneLayout(t *testing.T) {
	var rl runLane[*int, *int]
	assert.Equal(t, uintptr(2*cacheLine), unsafe.Sizeof(rl), "a runLane is two cache lines")
	assert.Less(t, unsafe.Offsetof(rl.ending), uintptr(cacheLine), "worker fields fit the first line")
	assert.Equal(t, uintptr(cacheLine), unsafe.Offsetof(rl.run), "producer fields start the second line")
}

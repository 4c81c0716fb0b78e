package flowtrace

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// TestRunMemoryLayout keeps an open run's memory in the size classes it
// was fitted to (issue 20): a runState of the 896-byte class (an object
// over 512 bytes with pointers carries an 8-byte header, so 888 bytes at
// most), and a component's one allocation, with no inputs, of the
// 288-byte class (its start record built at delivery, see
// componentBlock). Growing either costs every open run 128 or 32 bytes.
func TestRunMemoryLayout(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(runState{}), uintptr(888), "runState must fit the 896-byte size class with its header")
	assert.LessOrEqual(t, unsafe.Sizeof(componentBlock{}), uintptr(288), "a component's allocation must fit the 288-byte size class")
	assert.Zero(t, unsafe.Offsetof(runState{}.prun), "the pipeline's run comes first, for its lane's cache-line layout")
}

package flowtrace

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// TestRunMemoryLayout keeps an open run's memory in the size classes it
// was fitted to (issue 20): a runState of the 768-byte class (an object
// over 512 bytes with pointers carries an 8-byte header, so 760 bytes at
// most: the run's own scope is a Component without componentOwn, and
// what most runs never use — a tracestate, the maps of the open list, a
// wait for holds — is a pointer), and a component's one allocation, with
// no inputs, of the 288-byte class (its start record built at delivery,
// see componentBlock). One byte more costs every open run 128 or 32.
func TestRunMemoryLayout(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(runState{}), uintptr(760), "runState must fit the 768-byte size class with its header")
	assert.LessOrEqual(t, unsafe.Sizeof(componentBlock{}), uintptr(288), "a component's allocation must fit the 288-byte size class")
	assert.Zero(t, unsafe.Offsetof(runState{}.prun), "the pipeline's run comes first, for its lane's cache-line layout")
}

package values

// Budget is the byte budget of one event: the values snapshotted with the
// same Budget share the Snapshotter's MaxBytes. The zero Budget is fresh.
// A Budget is meant to live on the caller's stack for the duration of one
// event and is not safe for concurrent use.
type Budget struct {
	used int
}

// Used returns the approximate JSON size, in bytes, of the values
// snapshotted with b so far, markers included.
func (b *Budget) Used() int {
	if b == nil {
		return 0
	}
	return b.used
}

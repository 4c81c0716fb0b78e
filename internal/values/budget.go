package values

// Budget is the byte budget of one event: the values snapshotted with the
// same Budget share the Snapshotter's MaxBytes. It also carries the
// secrets of the event's run: those already seen, to be scrubbed, and
// those found masked by the event's snapshots. The zero Budget is fresh
// and scrubs nothing. A Budget is meant to live on the caller's stack for
// the duration of one event and is not safe for concurrent use.
type Budget struct {
	used int
	// Seen are the secrets of the run seen before this event: every
	// occurrence of them in a string recorded with this Budget is replaced
	// by Masked. Nil scrubs nothing and costs nothing.
	Seen  *Secrets
	found []string
}

// Used returns the approximate JSON size, in bytes, of the values
// snapshotted with b so far, markers included.
func (b *Budget) Used() int {
	if b == nil {
		return 0
	}
	return b.used
}

// Found returns the strings masked by the snapshots taken with b (under a
// masked key or field, of a secret type, a URL's user info) that are at
// least MinSecretLen long, in no particular order, possibly repeated. The
// caller adds them to its run's Secrets, and snapshots the event again
// with the new set as Seen: values snapshotted before the secret was found
// in the same event were not scrubbed of it.
func (b *Budget) Found() []string {
	if b == nil {
		return nil
	}
	return b.found
}

// Charge adds n bytes to what b has used: the JSON size of a string the
// caller recorded outside a snapshot (see Clean). It is how such strings
// count towards the event's MaxBytes.
func (b *Budget) Charge(n int) {
	if b != nil {
		b.used += n
	}
}

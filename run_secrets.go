package flowtrace

import "github.com/flowtrace/flowtrace/internal/values"

// The secrets a run has seen (see runState.secrets) are published
// copy-on-write: writers build a new set and swap it in with
// CompareAndSwap, readers Load it without a lock. A run that never masked
// a string has a nil set and pays one atomic load per event. The write
// path (write.go) is the only caller of budget and learn: every record
// kind learns and is scrubbed the same way.

// budget returns the Budget of one event of the run: the run's settings,
// and the secrets it has seen so far, to scrub from the event's strings.
func (rs *runState) budget() values.Budget {
	b := rs.svc.snap.NewBudget()
	b.Seen = rs.secrets.Load()
	return b
}

// learn adds to the run the secrets the event's snapshots masked. It
// returns nil when they add nothing new, else the run's new set, with
// which the caller scrubs the event's values: those snapshotted before a
// secret was found in the same event were not scrubbed of it.
func (rs *runState) learn(b *values.Budget) *values.Secrets {
	found := b.Found()
	if len(found) == 0 {
		return nil
	}
	for {
		old := rs.secrets.Load()
		set := old.With(found)
		if set == old || rs.secrets.CompareAndSwap(old, set) {
			if set == b.Seen {
				return nil // the event was scrubbed of all of them already
			}
			return set
		}
	}
}

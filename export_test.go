package flowtrace

import "time"

// SetMisuseInterval sets the interval of the reports of calls without a
// run, and returns a function that restores it.
func SetMisuseInterval(d time.Duration) (restore func()) {
	old := misuseInterval.Swap(int64(d))
	return func() { misuseInterval.Store(old) }
}

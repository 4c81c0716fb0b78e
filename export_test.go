package flowtrace

import "time"

// SetMisuseInterval sets the interval of the reports of calls without a
// run, and returns a function that restores it.
func SetMisuseInterval(d time.Duration) (restore func()) {
	old := misuseInterval.Swap(int64(d))
	return func() { misuseInterval.Store(old) }
}

// AbandonCall makes the service abandon the call its exporter name is
// making, as the watchdog does once a call is past its deadline. The
// caller knows the call is in progress and blocks until it releases it.
func AbandonCall(s *TraceService, exporter string) bool {
	return s.pipe.AbandonCall(exporter)
}

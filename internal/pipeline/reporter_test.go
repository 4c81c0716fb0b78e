package pipeline

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReporterSurvivesAPanickingHandler has the handler panic on every
// report: the reporter goes on, and waiting for it returns.
func TestReporterSurvivesAPanickingHandler(t *testing.T) {
	var mu sync.Mutex
	var seen int
	r := newReporter(func(error) {
		mu.Lock()
		seen++
		mu.Unlock()
		panic("handler bug")
	}, ErrInDelivery)
	var last uint64
	for range 3 {
		last = r.report(errors.New("x"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, r.waitFor(ctx, last))
	require.NoError(t, r.wait(ctx))
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 3, seen)
}

// TestReporterCountsWhatItCannotHold blocks the handler while more reports
// arrive than the reporter holds: those beyond are counted, and the count
// is reported once the handler catches up.
func TestReporterCountsWhatItCannotHold(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var got []error
	r := newReporter(func(err error) {
		<-release
		mu.Lock()
		got = append(got, err)
		mu.Unlock()
	}, ErrInDelivery)
	for range maxPendingReports + 11 { // one is taken by the blocked handler at most
		r.report(errors.New("x"))
	}
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, r.wait(ctx))
	mu.Lock()
	defer mu.Unlock()
	last := got[len(got)-1]
	require.True(t, strings.Contains(last.Error(), "error reports dropped"), "the last report counts the dropped ones: %v", last)
	require.GreaterOrEqual(t, len(got), maxPendingReports+1)
}

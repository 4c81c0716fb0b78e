package pipeline

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// recBackend records, in order, the calls its worker makes: "open r",
// "r: <event>", "end r". Runs are named by their ID.
type recBackend struct {
	mu    sync.Mutex
	calls []string
}

func (b *recBackend) Shutdown(context.Context) error { return nil }

func (b *recBackend) Open(_ context.Context, run any, _ int) (Session[any], error) {
	b.add("open " + run.(string))
	return recSession{b, run.(string)}, nil
}

func (b *recBackend) add(c string) {
	b.mu.Lock()
	b.calls = append(b.calls, c)
	b.mu.Unlock()
}

func (b *recBackend) log() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.calls...)
}

type recSession struct {
	b   *recBackend
	run string
}

func (s recSession) Deliver(_ context.Context, rec any) error {
	if rec == nil {
		s.b.add("end " + s.run)
		return nil
	}
	s.b.add(s.run + ": " + rec.(string))
	return nil
}

// TestRunStartedBetweenLookAndTakeIsOpenedFirst starts a run and queues
// its event while the worker stands between its look at the empty queue
// and its taking of an item. The worker took the event then, for a run
// whose opening it had not processed: the delivery panicked on a nil
// session, the run's start was lost and its end refused. Whatever the
// worker takes, it decides on that item: the run is opened first.
func TestRunStartedBetweenLookAndTakeIsOpenedFirst(t *testing.T) {
	b := &recBackend{}
	p := New[any, any](Config{QueueSize: 16, ExportTimeout: time.Hour})
	var armed atomic.Bool
	var once sync.Once
	var r *Run[any, any]
	started := make(chan struct{})
	testHookBeforeTake = func() {
		if !armed.Load() {
			return
		}
		once.Do(func() { // the worker has just found the queue empty
			var err error
			r, err = p.StartRun("r", "r")
			if err == nil && r.Enter() {
				r.Emit(nil, Event[any]{Data: "log"})
				r.Leave()
			}
			close(started)
		})
	}
	defer func() { testHookBeforeTake = nil }()
	require.NoError(t, p.Add("rec", b, b))
	armed.Store(true)
	wake, err := p.StartRun("wake", "wake") // the worker looks at the queue again
	require.NoError(t, err)
	<-started
	require.NotNil(t, r)
	require.True(t, r.Close(nil, nil))
	require.True(t, wake.Close(nil, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sum, err := r.Wait(ctx)
	require.NoError(t, err)
	require.Equal(t, Delivery{Emitted: 3, Delivered: 3}, sum[0].Delivery, "the run's opening, event and end are each delivered")
	_, err = wake.Wait(ctx)
	require.NoError(t, err)
	require.NoError(t, p.Shutdown(ctx))
	var got []string
	for _, c := range b.log() {
		if strings.HasSuffix(c, " r") || strings.HasPrefix(c, "r:") {
			got = append(got, c)
		}
	}
	require.Equal(t, []string{"open r", "r: log", "end r"}, got, "the backend saw the run open, its event, then its end")
}

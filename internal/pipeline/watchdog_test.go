package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// funcBackend is a Backend whose Deliver is a function.
type funcBackend struct {
	deliver func(ctx context.Context, ev Event) error
}

func (b *funcBackend) Name() string                      { return "func" }
func (b *funcBackend) Shutdown(context.Context) error    { return nil }
func (b *funcBackend) Close(context.Context, *Run) error { return nil }
func (b *funcBackend) Open(context.Context, *Run) (Session, error) {
	return b, nil
}
func (b *funcBackend) Deliver(ctx context.Context, ev Event) error { return b.deliver(ctx, ev) }

// TestWatchdogSurvivesIdleWake makes the worker go idle and find work again
// over and over, each run ending with a call that hangs until abandoned.
// The watchdog stopped re-arming itself once it saw the worker idle; a
// worker that then found work without sleeping never armed it again, and
// the next hanging call was never abandoned.
func TestWatchdogSurvivesIdleWake(t *testing.T) {
	b := &funcBackend{deliver: func(ctx context.Context, ev Event) error {
		if ev.Data == "hang" {
			<-ctx.Done() // returns only once the watchdog abandons the call
		}
		return nil
	}}
	p := New(Config{QueueSize: 1 << 12, ExportTimeout: 200 * time.Microsecond})
	require.NoError(t, p.Add(b))
	for i := range 3000 {
		r, err := p.StartRun("r", nil)
		require.NoError(t, err)
		require.True(t, r.Enter())
		for j := range 200 {
			r.Emit(nil, Event{Data: j})
		}
		r.Emit(nil, Event{Data: "hang"})
		r.Leave()
		r.Close(nil)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, _ = r.Wait(ctx)
		err = ctx.Err()
		cancel()
		require.NoError(t, err, "run %d: a hanging call was not abandoned: the watchdog is not armed", i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, p.Shutdown(ctx))
}

package flowtrace_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

// TestReregisteredExporterIsShutDownOnce unregisters an exporter while a
// run uses it and registers it again at once: it is shut down once, after
// the last run that used it, not when the run of its first registration
// ends while the second registration still uses it.
func TestReregisteredExporterIsShutDownOnce(t *testing.T) {
	svc, _, errs := newService(t)
	e := newFuncExporter("again", nil)
	require.NoError(t, svc.RegisterExporter(e))
	first, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	require.NoError(t, svc.UnregisterExporter("again"))
	require.NoError(t, svc.RegisterExporter(e))
	second, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)

	sum, err := svc.EndTracers(within(t, first), nil, nil)
	require.NoError(t, err)
	requireBalanced(t, sum)
	assert.Zero(t, e.shutdown.Load(), "the exporter is still registered: it must not be shut down")

	svc.AddLog(second, flowtrace.Log{Name: "still delivered"})
	sum, err = svc.EndTracers(within(t, second), nil, nil)
	require.NoError(t, err)
	assert.Equal(t, flowtrace.Delivery{Emitted: 3, Delivered: 3}, sum.Exporters["again"])
	require.NoError(t, svc.Shutdown(deadline(t)))
	assert.Equal(t, int32(1), e.shutdown.Load(), "shut down once, by Shutdown")
	assert.Empty(t, errs.all())
}

// panickyName is an exporter whose Name panics.
type panickyName struct{ *memory.Exporter }

func (panickyName) Name() string { panic("Name exploded") }

// TestPanickingNameIsAnError gives NewTraceService and RegisterExporter an
// exporter whose Name panics: both return an error wrapping
// ErrExporterPanic instead of panicking.
func TestPanickingNameIsAnError(t *testing.T) {
	bad := panickyName{memory.New()}
	var svc *flowtrace.TraceService
	var err error
	require.NotPanics(t, func() { svc, err = flowtrace.NewTraceService(flowtrace.WithExporter(bad)) })
	require.ErrorIs(t, err, flowtrace.ErrInvalidOption)
	require.ErrorIs(t, err, flowtrace.ErrExporterPanic)
	require.Nil(t, svc)

	good, _, _ := newService(t)
	require.NotPanics(t, func() { err = good.RegisterExporter(bad) })
	require.ErrorIs(t, err, flowtrace.ErrInvalidOption)
	require.ErrorIs(t, err, flowtrace.ErrExporterPanic)
	require.Equal(t, []string{"memory"}, good.Exporters())
}

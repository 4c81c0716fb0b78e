package flowtrace_test

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
)

// This file holds the fake exporters and values shared by the tests.

// funcExporter is an exporter whose every call runs hook (which may sleep,
// block, fail or panic) before recording into an inner memory exporter.
type funcExporter struct {
	name     string
	rec      *memory.Exporter
	onStart  func(ctx context.Context, r flowtrace.RunStart) error
	hook     func(ctx context.Context, method string) error
	shutdown atomic.Int32
}

func newFuncExporter(name string, hook func(ctx context.Context, method string) error) *funcExporter {
	return &funcExporter{name: name, rec: memory.New(), hook: hook}
}

func (e *funcExporter) Name() string { return e.name }

func (e *funcExporter) StartRun(ctx context.Context, r flowtrace.RunStart) (flowtrace.RunExporter, error) {
	if e.onStart != nil {
		if err := e.onStart(ctx, r); err != nil {
			return nil, err
		}
	}
	inner, err := e.rec.StartRun(ctx, r)
	if err != nil {
		return nil, err
	}
	return &funcRun{e: e, inner: inner}, nil
}

func (e *funcExporter) Shutdown(context.Context) error { e.shutdown.Add(1); return nil }

type funcRun struct {
	e     *funcExporter
	inner flowtrace.RunExporter
}

func (r *funcRun) call(ctx context.Context, m string) error {
	if r.e.hook == nil {
		return nil
	}
	return r.e.hook(ctx, m)
}

func (r *funcRun) StartComponent(ctx context.Context, c flowtrace.ComponentStart) error {
	if err := r.call(ctx, "StartComponent"); err != nil {
		return err
	}
	return r.inner.StartComponent(ctx, c)
}

func (r *funcRun) AddLog(ctx context.Context, l flowtrace.LogEntry) error {
	if err := r.call(ctx, "AddLog"); err != nil {
		return err
	}
	return r.inner.AddLog(ctx, l)
}

func (r *funcRun) SetOutputs(ctx context.Context, o flowtrace.Outputs) error {
	if err := r.call(ctx, "SetOutputs"); err != nil {
		return err
	}
	return r.inner.SetOutputs(ctx, o)
}

func (r *funcRun) EndComponent(ctx context.Context, c flowtrace.ComponentEnd) error {
	if err := r.call(ctx, "EndComponent"); err != nil {
		return err
	}
	return r.inner.EndComponent(ctx, c)
}

func (r *funcRun) EndRun(ctx context.Context, e flowtrace.RunEnd) error {
	if err := r.call(ctx, "EndRun"); err != nil {
		return err
	}
	return r.inner.EndRun(ctx, e)
}

// slowHook simulates a backend that takes d per call.
func slowHook(d time.Duration) func(context.Context, string) error {
	return func(context.Context, string) error { time.Sleep(d); return nil }
}

// named gives an exporter another name.
type named struct {
	*memory.Exporter
	name string
}

func (n named) Name() string { return n.name }

// signalExporter is a memory exporter whose Shutdown closes a channel, so a
// test can wait for it.
type signalExporter struct {
	*memory.Exporter
	name string
	shut chan struct{}
}

func (e *signalExporter) Name() string { return e.name }

func (e *signalExporter) Shutdown(ctx context.Context) error {
	defer close(e.shut)
	return e.Exporter.Shutdown(ctx)
}

// blockingStringer's String blocks until released: the caller's own code,
// run while a value is snapshotted.
type blockingStringer struct{ entered, release chan struct{} }

func (s blockingStringer) String() string {
	close(s.entered)
	<-s.release
	return "slow"
}

// blockingError is an error whose Error method blocks until release is
// closed, signalling entered the first time it is called.
type blockingError struct {
	entered chan struct{}
	once    *sync.Once
	release chan struct{}
}

func newBlockingError() blockingError {
	return blockingError{entered: make(chan struct{}), once: new(sync.Once), release: make(chan struct{})}
}

func (e blockingError) Error() string {
	e.once.Do(func() { close(e.entered) })
	<-e.release
	return "slow error"
}

// panickyName is an exporter whose Name panics.
type panickyName struct{ *memory.Exporter }

func (panickyName) Name() string { panic("Name exploded") }

// discardExporter counts what it receives and keeps nothing.
type discardExporter struct{ n atomic.Int64 }

func (d *discardExporter) Name() string { return "discard" }

func (d *discardExporter) StartRun(context.Context, flowtrace.RunStart) (flowtrace.RunExporter, error) {
	return discardRun{d}, nil
}

func (d *discardExporter) Shutdown(context.Context) error { return nil }

type discardRun struct{ d *discardExporter }

func (r discardRun) StartComponent(context.Context, flowtrace.ComponentStart) error {
	r.d.n.Add(1)
	return nil
}

func (r discardRun) AddLog(context.Context, flowtrace.LogEntry) error { r.d.n.Add(1); return nil }

func (r discardRun) SetOutputs(context.Context, flowtrace.Outputs) error { r.d.n.Add(1); return nil }

func (r discardRun) EndComponent(context.Context, flowtrace.ComponentEnd) error {
	r.d.n.Add(1)
	return nil
}

func (r discardRun) EndRun(context.Context, flowtrace.RunEnd) error { r.d.n.Add(1); return nil }

// The discarding exporter takes inputs and model calls as they are, as
// the exporters of this repository do, rather than as logs.
func (r discardRun) SetInputs(context.Context, flowtrace.Inputs) error { r.d.n.Add(1); return nil }

func (r discardRun) RecordModelCall(context.Context, flowtrace.ModelCallRecord) error {
	r.d.n.Add(1)
	return nil
}

package flowtrace

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/flowtrace/flowtrace/internal/pipeline"
)

// backend adapts an Exporter to the pipeline.
type backend struct{ e Exporter }

// exporterName returns e's name, checked: a nil exporter, an empty name
// and a panic in Name are errors, so that the exporter's code never panics
// through NewTraceService or RegisterExporter.
func exporterName(e Exporter) (name string, err error) {
	if e == nil {
		return "", errors.New("exporter is nil")
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: exporter %T in Name: %v", ErrExporterPanic, e, r)
		}
	}()
	if name = e.Name(); name == "" {
		return "", fmt.Errorf("exporter %T has an empty name", e)
	}
	return name, nil
}

// exporterKey identifies e across registrations, so that an exporter
// unregistered and registered again is shut down once, by the last
// registration to stop. An exporter whose type cannot be compared is its
// own registration each time.
func exporterKey(e Exporter) any {
	if reflect.TypeOf(e).Comparable() {
		return e
	}
	return new(byte)
}

func (b *backend) Open(ctx context.Context, r *pipeline.Run) (pipeline.Session, error) {
	re, err := b.e.StartRun(ctx, r.Owner.(*runState).info)
	if err != nil || re == nil {
		return nil, err
	}
	return session{re}, nil
}

func (b *backend) Shutdown(ctx context.Context) error { return b.e.Shutdown(ctx) }

// session adapts a RunExporter to the pipeline.
type session struct{ re RunExporter }

func (s session) Deliver(ctx context.Context, ev pipeline.Event) error {
	switch ev.Kind {
	case kindComponentStart:
		return s.re.StartComponent(ctx, ev.Data.(*Component).info)
	case kindLog:
		return s.re.AddLog(ctx, *ev.Data.(*LogEntry))
	case kindOutputs:
		return s.re.SetOutputs(ctx, *ev.Data.(*Outputs))
	case kindComponentEnd:
		c := ev.Data.(*Component)
		return s.re.EndComponent(ctx, ComponentEnd{RunID: c.info.RunID, ComponentID: c.info.ComponentID, Err: c.endErr, Time: c.endTime})
	}
	return fmt.Errorf("flowtrace: unknown event kind %d", ev.Kind)
}

func (s session) Close(ctx context.Context, r *pipeline.Run) error {
	return s.re.EndRun(ctx, *r.EndInfo.(*RunEnd))
}

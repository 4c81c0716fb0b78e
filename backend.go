package flowtrace

import (
	"context"
	"fmt"

	"github.com/flowtrace/flowtrace/internal/pipeline"
)

// backend adapts an Exporter to the pipeline.
type backend struct{ e Exporter }

func (b *backend) Name() string { return b.e.Name() }

func (b *backend) Open(ctx context.Context, r *pipeline.Run) (pipeline.Session, error) {
	re, err := b.e.StartRun(ctx, r.Owner.(*runState).info)
	if err != nil || re == nil {
		return nil, err
	}
	in, _ := re.(InputsExporter)
	mc, _ := re.(ModelCallExporter)
	return session{re: re, in: in, mc: mc}, nil
}

func (b *backend) Shutdown(ctx context.Context) error { return b.e.Shutdown(ctx) }

// session adapts a RunExporter to the pipeline.
type session struct {
	re RunExporter
	in InputsExporter    // nil: inputs go as a log
	mc ModelCallExporter // nil: model calls go as a log
}

func (s session) Deliver(ctx context.Context, ev pipeline.Event) error {
	switch ev.Kind {
	case kindComponentStart:
		return s.re.StartComponent(ctx, ev.Data.(*Component).info)
	case kindLog:
		return s.re.AddLog(ctx, *ev.Data.(*LogEntry))
	case kindOutputs:
		return s.re.SetOutputs(ctx, *ev.Data.(*Outputs))
	case kindInputs:
		in := ev.Data.(*Inputs)
		if s.in != nil {
			return s.in.SetInputs(ctx, *in)
		}
		return s.re.AddLog(ctx, LogEntry{RunID: in.RunID, ComponentID: in.ComponentID, Name: "inputs", Type: "inputs", Message: in.Values, Time: in.Time})
	case kindModelCall:
		r := ev.Data.(*ModelCallRecord)
		if s.mc != nil {
			return s.mc.RecordModelCall(ctx, *r)
		}
		return s.re.AddLog(ctx, r.asLog())
	case kindComponentEnd:
		c := ev.Data.(*Component)
		return s.re.EndComponent(ctx, ComponentEnd{RunID: c.info.RunID, ComponentID: c.info.ComponentID, Err: c.endErr, Time: c.endTime})
	}
	return fmt.Errorf("flowtrace: unknown event kind %d", ev.Kind)
}

func (s session) Close(ctx context.Context, r *pipeline.Run) error {
	return s.re.EndRun(ctx, *r.EndInfo.(*RunEnd))
}

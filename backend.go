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

// Open starts the run on the exporter. The session of the run's first lane
// lives in the run's own record, so that a run with one exporter costs no
// allocation for it.
func (b *backend) Open(ctx context.Context, rs *runState, lane int) (pipeline.Session[record], error) {
	re, err := b.e.StartRun(ctx, rs.info)
	if err != nil {
		return nil, fmt.Errorf("StartRun: %w", err)
	}
	if re == nil {
		return nil, errors.New("StartRun returned no RunExporter")
	}
	var has uint8
	if _, ok := re.(InputsExporter); ok {
		has |= hasInputs
	}
	if _, ok := re.(ModelCallExporter); ok {
		has |= hasModelCalls
	}
	var s *session
	if lane == 0 {
		s = &rs.sess // written by this lane's worker only, once
	} else {
		s = new(session)
	}
	*s = session{re: re, has: has}
	return s, nil
}

func (b *backend) Shutdown(ctx context.Context) error { return b.e.Shutdown(ctx) }

// session adapts a RunExporter to the pipeline. The optional interfaces
// are looked up once, when the run opens (has); a record for one of them
// converts re to it, which cannot fail then.
type session struct {
	re  RunExporter
	has uint8 // hasInputs, hasModelCalls: else they go as logs
}

const (
	hasInputs     = 1 << iota // re is an InputsExporter
	hasModelCalls             // re is a ModelCallExporter
)

func (s *session) Deliver(ctx context.Context, rec record) error {
	if err := rec.deliverTo(ctx, s); err != nil {
		return fmt.Errorf("%s: %w", rec.op(), err)
	}
	return nil
}

// record is what the pipeline carries to exporters: a pointer to one of
// the records of exporter.go, built on the caller's goroutine and never
// changed once queued. It hands itself to the RunExporter method it is
// for, so no type switch stands between the two.
type record interface {
	deliverTo(ctx context.Context, s *session) error
	op() string // the method's name, for errors
}

func (b *componentBlock) deliverTo(ctx context.Context, s *session) error {
	return s.re.StartComponent(ctx, b.c.startRecord())
}
func (l *LogEntry) deliverTo(ctx context.Context, s *session) error { return s.re.AddLog(ctx, *l) }
func (o *Outputs) deliverTo(ctx context.Context, s *session) error  { return s.re.SetOutputs(ctx, *o) }
func (c *ComponentEnd) deliverTo(ctx context.Context, s *session) error {
	return s.re.EndComponent(ctx, *c)
}
func (r *RunEnd) deliverTo(ctx context.Context, s *session) error { return s.re.EndRun(ctx, *r) }

// Inputs and model calls reach an exporter written before they existed
// as logs, so that nothing is lost.
func (in *Inputs) deliverTo(ctx context.Context, s *session) error {
	if s.has&hasInputs != 0 {
		return s.re.(InputsExporter).SetInputs(ctx, *in)
	}
	return s.re.AddLog(ctx, LogEntry{RunID: in.RunID, ComponentID: in.ComponentID, Name: "inputs", Type: "inputs", Message: in.Values.Map(), Time: in.Time})
}
func (m *ModelCallRecord) deliverTo(ctx context.Context, s *session) error {
	if s.has&hasModelCalls != 0 {
		return s.re.(ModelCallExporter).RecordModelCall(ctx, *m)
	}
	return s.re.AddLog(ctx, m.asLog())
}

func (*componentBlock) op() string  { return "StartComponent" }
func (*LogEntry) op() string        { return "AddLog" }
func (*Outputs) op() string         { return "SetOutputs" }
func (*ComponentEnd) op() string    { return "EndComponent" }
func (*RunEnd) op() string          { return "EndRun" }
func (*Inputs) op() string          { return "SetInputs" }
func (*ModelCallRecord) op() string { return "RecordModelCall" }

// The pipeline's types as the service uses them: runs are owned by a
// runState, and carry records.
type (
	deliveryPipeline = pipeline.Pipeline[*runState, record]
	deliveryRun      = pipeline.Run[*runState, record]
	event            = pipeline.Event[record]
)

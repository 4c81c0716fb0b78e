package jsonl

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/internal/serialwriter"
)

var (
	_ flowtrace.Exporter    = (*Exporter)(nil)
	_ flowtrace.RunExporter = (*runExporter)(nil)
)

// Exporter writes every event of every run as one JSON line; the package
// documentation gives the schema.
//
// The zero value writes to os.Stdout. An Exporter is safe for concurrent
// use, and serialises its writes: the writer needs no locking of its own.
// It must not be copied after first use.
type Exporter struct {
	out serialwriter.Writer
}

// New returns an Exporter writing to w, or to os.Stdout if w is nil.
func New(w io.Writer) *Exporter { return &Exporter{out: serialwriter.Writer{W: w}} }

// Name returns "jsonl".
func (e *Exporter) Name() string { return "jsonl" }

// StartRun writes the run_start line and returns the RunExporter that writes
// the run's other events. A write error is returned, which disables this
// exporter for the run.
func (e *Exporter) StartRun(_ context.Context, r flowtrace.RunStart) (flowtrace.RunExporter, error) {
	b := begin("run_start", r.Time, r.RunID, "")
	b.str("parent_run_id", r.ParentRunID)
	b.str("parent_component_id", r.ParentComponentID)
	b.str("run_name", r.RunName)
	b.str("project_name", r.ProjectName)
	b.str("user_id", r.UserID)
	b.str("session_id", r.SessionID)
	b.hex("trace_id", r.TraceID[:])
	b.object("inputs", r.Inputs, true)
	b.object("metadata", r.Metadata, true)
	if len(r.Tags) > 0 {
		b.key("tags")
		b.encode(r.Tags)
	}
	b.hex("span_id", r.SpanID[:])
	b.spanID("parent_span_id", r.ParentSpanID)
	b.flag("resumed", r.Resumed)
	if err := e.write(b); err != nil {
		return nil, err
	}
	return &runExporter{e: e}, nil
}

// Shutdown flushes the writer if it has a Flush() error method, and returns
// that method's error. It does not close the writer, and the Exporter keeps
// writing whatever it receives afterwards.
func (e *Exporter) Shutdown(context.Context) error {
	if err := e.out.Flush(); err != nil {
		return fmt.Errorf("jsonl: flush: %w", err)
	}
	return nil
}

// write ends the line in b, writes it with one Write call and recycles b.
func (e *Exporter) write(b *buffer) error {
	defer b.free()
	line := b.end()
	if _, err := e.out.Write(line); err != nil {
		return fmt.Errorf("jsonl: write: %w", err)
	}
	return nil
}

// runExporter writes the events of one run. It has no state of its own:
// every record carries its run ID.
type runExporter struct{ e *Exporter }

func (x *runExporter) StartComponent(_ context.Context, c flowtrace.ComponentStart) error {
	b := begin("component_start", c.Time, c.RunID, c.ComponentID)
	b.str("parent_id", c.ParentID)
	b.str("name", c.Name)
	b.str("type", c.Type)
	b.object("inputs", c.Inputs, true)
	b.object("metadata", c.Metadata, true)
	b.hex("span_id", c.SpanID[:])
	b.spanID("parent_span_id", c.ParentSpanID)
	return x.e.write(b)
}

func (x *runExporter) AddLog(_ context.Context, l flowtrace.LogEntry) error {
	b := begin("log", l.Time, l.RunID, l.ComponentID)
	b.str("name", l.Name)
	b.str("type", l.Type)
	b.value("message", l.Message)
	return x.e.write(b)
}

func (x *runExporter) SetOutputs(_ context.Context, o flowtrace.Outputs) error {
	b := begin("outputs", o.Time, o.RunID, o.ComponentID)
	b.object("values", o.Values, false)
	return x.e.write(b)
}

func (x *runExporter) EndComponent(_ context.Context, c flowtrace.ComponentEnd) error {
	b := begin("component_end", c.Time, c.RunID, c.ComponentID)
	b.err("error", c.Err)
	b.flag("suspended", c.Suspended)
	return x.e.write(b)
}

func (x *runExporter) EndRun(_ context.Context, r flowtrace.RunEnd) error {
	b := begin("run_end", r.Time, r.RunID, "")
	b.object("outputs", r.Outputs, true)
	b.err("error", r.Err)
	b.flag("suspended", r.Suspended)
	return x.e.write(b)
}

var (
	_ flowtrace.InputsExporter    = (*runExporter)(nil)
	_ flowtrace.ModelCallExporter = (*runExporter)(nil)
)

// SetInputs writes an inputs line: inputs set after their scope started.
func (x *runExporter) SetInputs(_ context.Context, in flowtrace.Inputs) error {
	b := begin("inputs", in.Time, in.RunID, in.ComponentID)
	b.object("values", in.Values, false)
	return x.e.write(b)
}

// RecordModelCall writes a model_call line.
func (x *runExporter) RecordModelCall(_ context.Context, mc flowtrace.ModelCallRecord) error {
	b := begin("model_call", mc.Time, mc.RunID, mc.ComponentID)
	c := &mc.Call
	b.str("model", c.Model)
	b.str("provider", c.Provider)
	b.mapObject("parameters", c.Parameters, true)
	b.messages("input_messages", c.Input)
	b.messages("output_messages", c.Output)
	u := c.Usage
	if u != (flowtrace.Usage{}) {
		b.key("usage")
		b.WriteString(`{"input_tokens":`)
		b.Write(strconv.AppendInt(b.AvailableBuffer(), u.InputTokens, 10))
		for _, f := range []struct {
			k string
			v int64
		}{{"output_tokens", u.OutputTokens}, {"total_tokens", u.TotalTokens}, {"cache_read_tokens", u.CacheReadTokens},
			{"cache_write_tokens", u.CacheWriteTokens}, {"reasoning_tokens", u.ReasoningTokens}} {
			b.WriteString(`,"` + f.k + `":`)
			b.Write(strconv.AppendInt(b.AvailableBuffer(), f.v, 10))
		}
		b.WriteByte('}')
	}
	if c.Cost != 0 {
		b.value("cost", c.Cost)
	}
	if c.InputCost != 0 {
		b.value("input_cost", c.InputCost)
	}
	if c.OutputCost != 0 {
		b.value("output_cost", c.OutputCost)
	}
	if len(c.FinishReasons) > 0 {
		b.key("finish_reasons")
		b.encode(c.FinishReasons)
	}
	if c.TimeToFirstChunk > 0 {
		b.value("time_to_first_chunk_ms", c.TimeToFirstChunk.Seconds()*1000)
	}
	return x.e.write(b)
}

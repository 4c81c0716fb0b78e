package memory

import (
	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/internal/values"
)

// deepen replaces every map and slice that r shares with the exporter by a
// copy, so that r belongs to the caller. r comes from run.snapshot, so its
// Components slice and top-level Outputs, Inputs and ModelCalls are
// already its own.
//
// Records hold snapshot trees (map[string]any, []any and immutable
// scalars), and only those are copied: a value of another type in a record
// built by hand is shared.
func (r *Run) deepen() {
	r.Info.Metadata = cloneFields(r.Info.Metadata)
	r.Info.Inputs = cloneFields(r.Info.Inputs)
	r.Info.Tags = append([]string(nil), r.Info.Tags...)
	r.Logs = cloneLogs(r.Logs)
	cloneValues(r.Outputs)
	cloneValues(r.Inputs)
	r.ModelCalls = cloneModelCalls(r.ModelCalls)
	for i := range r.Components {
		c := &r.Components[i]
		c.Info.Inputs = cloneFields(c.Info.Inputs)
		c.Info.Metadata = cloneFields(c.Info.Metadata)
		c.Logs = cloneLogs(c.Logs)
		cloneValues(c.Outputs)
		cloneValues(c.Inputs)
		c.ModelCalls = cloneModelCalls(c.ModelCalls)
	}
}

func cloneLogs(ls []flowtrace.LogEntry) []flowtrace.LogEntry {
	if ls == nil {
		return nil
	}
	out := make([]flowtrace.LogEntry, len(ls))
	for i, l := range ls {
		l.Message = values.Clone(l.Message)
		out[i] = l
	}
	return out
}

// cloneValues replaces the values of m, a map the caller owns, by copies.
func cloneValues(m map[string]any) {
	for k, v := range m {
		m[k] = values.Clone(v)
	}
}

// cloneModelCalls copies model call records: parameters, messages, tool
// calls and finish reasons.
func cloneModelCalls(in []flowtrace.ModelCallRecord) []flowtrace.ModelCallRecord {
	if in == nil {
		return nil
	}
	out := make([]flowtrace.ModelCallRecord, len(in))
	for i, r := range in {
		r.Call.Parameters = values.CloneMap(r.Call.Parameters)
		r.Call.FinishReasons = append([]string(nil), r.Call.FinishReasons...)
		r.Call.Input = cloneMessages(r.Call.Input)
		r.Call.Output = cloneMessages(r.Call.Output)
		out[i] = r
	}
	return out
}

func cloneMessages(in []flowtrace.Message) []flowtrace.Message {
	if in == nil {
		return nil
	}
	out := make([]flowtrace.Message, len(in))
	for i, m := range in {
		m.ToolCalls = append([]flowtrace.ToolCall(nil), m.ToolCalls...)
		out[i] = m
	}
	return out
}

// cloneFields returns a deep copy of f.
func cloneFields(f flowtrace.Fields) flowtrace.Fields {
	return flowtrace.FieldsOf(values.CloneMap(f.Map()))
}

package memory

import (
	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/internal/values"
)

// deepen replaces every map and slice that r shares with the exporter by a
// copy, so that r belongs to the caller. r comes from run.snapshot, so its
// Components slice and top-level Outputs maps are already its own.
//
// Records hold snapshot trees (map[string]any, []any and immutable
// scalars), and only those are copied: a value of another type in a record
// built by hand is shared.
func (r *Run) deepen() {
	r.Info.Metadata = values.CloneMap(r.Info.Metadata)
	r.Logs = cloneLogs(r.Logs)
	cloneValues(r.Outputs)
	for i := range r.Components {
		c := &r.Components[i]
		c.Info.Inputs = values.CloneMap(c.Info.Inputs)
		c.Info.Metadata = values.CloneMap(c.Info.Metadata)
		c.Logs = cloneLogs(c.Logs)
		cloneValues(c.Outputs)
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

package tracing

import (
	"context"
	"log/slog"

	"github.com/flowtrace/flowtrace"
)

// SlogHandler returns a slog.Handler that passes every record to inner
// and, when the record's ctx is inside a run of svc, also records it as a
// log of that scope (the innermost component, else the run) with
// svc.AddLog. (svc should be the service that started the run: its
// masking rules are the ones applied.) The log is:
//
//   - Log.Name is the record's message;
//   - Log.Type is its level as slog names it ("DEBUG", "INFO", "WARN",
//     "ERROR", "INFO+2");
//   - Log.Message is a map of its attributes, those added with WithAttrs
//     included, each group (WithGroup or a Group value) a nested map,
//     LogValuers resolved, empty attributes and empty groups left out, as
//     slog's own handlers do; nil when there are none. Like any value, it
//     is snapshotted and masked by svc's rules (a "password" attribute is
//     recorded as flowtrace.Masked; inner still receives it as logged).
//
// The record's time and source are not part of the log: the log has its
// own time, taken when it is recorded.
//
// Records logged outside a run, or in an unsampled one, go to inner
// alone, untouched. Enabled is inner's: a record inner is not enabled for
// is not recorded in the run either, so the logger's level governs both.
// Handle returns inner's error.
//
// The handler, and those WithAttrs and WithGroup derive from it, are safe
// for concurrent use if inner is. A nil inner discards records, and is
// enabled at slog.LevelInfo and above (slog's default level), so that the
// run still gets them; a nil svc records nothing.
func SlogHandler(inner slog.Handler, svc *flowtrace.TraceService) slog.Handler {
	if inner == nil {
		inner = discardInfo{}
	}
	return &slogHandler{inner: inner, svc: svc}
}

type slogHandler struct {
	inner slog.Handler
	svc   *flowtrace.TraceService
	// goas are the WithGroup and WithAttrs calls in order. The slice is
	// shared by derived handlers and never appended to in place.
	goas []groupOrAttrs
}

// groupOrAttrs is one WithGroup (group set) or WithAttrs (attrs set) call.
type groupOrAttrs struct {
	group string
	attrs []slog.Attr
}

func (h *slogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

func (h *slogHandler) Handle(ctx context.Context, r slog.Record) error {
	if rc, ok := flowtrace.RunFromContext(ctx); ok && rc.Sampled() && h.svc != nil {
		var fields map[string]any
		if len(h.goas) > 0 || r.NumAttrs() > 0 {
			fields = make(map[string]any, r.NumAttrs())
			h.fill(fields, h.goas, &r)
			if len(fields) == 0 {
				fields = nil
			}
		}
		h.svc.AddLog(ctx, flowtrace.Log{Name: r.Message, Type: r.Level.String(), Message: fields})
	}
	return h.inner.Handle(ctx, r)
}

func (h *slogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return h.with(groupOrAttrs{attrs: attrs}, h.inner.WithAttrs(attrs))
}

func (h *slogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return h.with(groupOrAttrs{group: name}, h.inner.WithGroup(name))
}

func (h *slogHandler) with(g groupOrAttrs, inner slog.Handler) *slogHandler {
	goas := make([]groupOrAttrs, len(h.goas), len(h.goas)+1)
	copy(goas, h.goas)
	return &slogHandler{inner: inner, svc: h.svc, goas: append(goas, g)}
}

// fill adds to dst the attributes of goas and then the record's, each
// WithGroup nesting everything after it. A group that ends up empty is
// left out.
func (h *slogHandler) fill(dst map[string]any, goas []groupOrAttrs, r *slog.Record) {
	for i, g := range goas {
		if g.group != "" {
			sub := make(map[string]any)
			h.fill(sub, goas[i+1:], r)
			if len(sub) > 0 {
				dst[g.group] = sub
			}
			return
		}
		for _, a := range g.attrs {
			addAttr(dst, a)
		}
	}
	r.Attrs(func(a slog.Attr) bool {
		addAttr(dst, a)
		return true
	})
}

// addAttr adds a to dst as slog's built-in handlers would output it.
func addAttr(dst map[string]any, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() != slog.KindGroup {
		dst[a.Key] = a.Value.Any()
		return
	}
	attrs := a.Value.Group()
	if a.Key == "" { // inline group
		for _, ga := range attrs {
			addAttr(dst, ga)
		}
		return
	}
	sub, _ := dst[a.Key].(map[string]any) // a group given twice is merged
	if sub == nil {
		sub = make(map[string]any, len(attrs))
	}
	for _, ga := range attrs {
		addAttr(sub, ga)
	}
	if len(sub) > 0 {
		dst[a.Key] = sub
	}
}

// discardInfo discards every record, and is enabled at Info and above.
type discardInfo struct{}

func (discardInfo) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (discardInfo) Handle(context.Context, slog.Record) error    { return nil }
func (d discardInfo) WithAttrs([]slog.Attr) slog.Handler         { return d }
func (d discardInfo) WithGroup(string) slog.Handler              { return d }

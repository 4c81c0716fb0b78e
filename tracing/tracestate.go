package tracing

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// W3C tracestate (https://www.w3.org/TR/trace-context-2/#tracestate-header):
// the vendors' own entries on the trace, which a service passes on.
const (
	// maxTracestateMembers is the most list members a valid tracestate has.
	maxTracestateMembers = 32
	// maxTracestateLen caps the combined tracestate a run keeps and sends
	// on, in bytes: the 512 the specification asks every vendor to pass on.
	// A longer one is cut by whole entries, as the specification says:
	// entries longer than maxTracestateEntry first, then from the right.
	maxTracestateLen   = 512
	maxTracestateEntry = 128
	// maxTracestateKey and maxTracestateValue bound a member's key and value.
	maxTracestateKey   = 256
	maxTracestateValue = 256
)

// tsMember is one list member: key and value, slices of the header.
type tsMember struct{ key, value string }

// parseTracestate combines tracestate header lines, in order, into one
// list (RFC 9110 field order), and reports false when the list is invalid
// and must be discarded as a whole: a member that is not key=value in the
// grammar of Level 2 (a key of lower-case letters, digits, '_', '-', '*',
// '/' and '@', up to 256 bytes, not starting with '@' or a symbol; a value
// of up to 256 printable ASCII bytes but ',' and '=', not ending in a
// space), or more than 32 members. Empty and whitespace-only members are
// allowed and skipped; spaces and tabs around a member are optional
// whitespace. A key given twice keeps its first value. An empty list
// reports false. The list is returned without optional whitespace, cut to
// maxTracestateLen by whole members.
//
// It allocates only the string it returns.
func parseTracestate(lines []string) (string, bool) {
	var members [maxTracestateMembers]tsMember
	n := 0
	for _, line := range lines {
		for line != "" {
			var m string
			m, line, _ = strings.Cut(line, ",")
			m = strings.Trim(m, " \t")
			if m == "" {
				continue
			}
			key, value, ok := strings.Cut(m, "=")
			if !ok || !validTracestateKey(key) || !validTracestateValue(value) {
				return "", false
			}
			if duplicateKey(members[:n], key) {
				continue
			}
			if n == maxTracestateMembers {
				return "", false
			}
			members[n] = tsMember{key, value}
			n++
		}
	}
	list := truncateTracestate(members[:n])
	if len(list) == 0 {
		return "", false
	}
	size := len(list) - 1
	for _, m := range list {
		size += len(m.key) + 1 + len(m.value)
	}
	var b strings.Builder
	b.Grow(size)
	for i, m := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m.key)
		b.WriteByte('=')
		b.WriteString(m.value)
	}
	return b.String(), true
}

func duplicateKey(members []tsMember, key string) bool {
	for _, m := range members {
		if m.key == key {
			return true
		}
	}
	return false
}

// truncateTracestate cuts list to maxTracestateLen bytes by whole members:
// members longer than maxTracestateEntry go first, then members from the
// right. It reuses list's array.
func truncateTracestate(list []tsMember) []tsMember {
	size := func(l []tsMember) int {
		n := len(l) - 1
		for _, m := range l {
			n += len(m.key) + 1 + len(m.value)
		}
		return n
	}
	if size(list) <= maxTracestateLen {
		return list
	}
	kept := list[:0]
	for _, m := range list {
		if len(m.key)+1+len(m.value) <= maxTracestateEntry {
			kept = append(kept, m)
		}
	}
	for len(kept) > 0 && size(kept) > maxTracestateLen {
		kept = kept[:len(kept)-1]
	}
	return kept
}

// validTracestateKey reports whether key is a Level 2 key:
// ( lcalpha / DIGIT ) 0*255 ( lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@" ).
func validTracestateKey(key string) bool {
	if key == "" || len(key) > maxTracestateKey {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case i > 0 && (c == '_' || c == '-' || c == '*' || c == '/' || c == '@'):
		default:
			return false
		}
	}
	return true
}

// validTracestateValue reports whether value is a value:
// 0*255( %x20-2B / %x2D-3C / %x3E-7E ) ( %x21-2B / %x2D-3C / %x3E-7E ).
// Leading spaces are part of the value.
func validTracestateValue(value string) bool {
	if value == "" || len(value) > maxTracestateValue || value[len(value)-1] == ' ' {
		return false
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 || c > 0x7e || c == ',' || c == '=' {
			return false
		}
	}
	return true
}

// otelTraceState returns list as an OpenTelemetry trace.TraceState, the
// form a run keeps it in (flowtrace.RemoteParent.TraceState). OpenTelemetry
// Go validates keys with Level 1's grammar, where an '@' is allowed once,
// followed by 1 to 14 characters starting with a letter: a Level 2 key
// outside it ("foo@", "a@b@c") cannot be held there, so such members are
// left out of the trace.TraceState, which keeps the others in order. The
// whole list is still sent on: see wireState.
func otelTraceState(list string) trace.TraceState {
	if ts, err := trace.ParseTraceState(list); err == nil {
		return ts
	}
	var kept []string
	for _, m := range strings.Split(list, ",") {
		key, value, _ := strings.Cut(m, "=")
		if _, err := (trace.TraceState{}).Insert(key, value); err == nil {
			kept = append(kept, m)
		}
	}
	ts, _ := trace.ParseTraceState(strings.Join(kept, ","))
	return ts
}

// wireState is the tracestate a request arrived with, when the run's
// trace.TraceState could not hold all of it (see otelTraceState). It rides
// in the ctx next to the remote parent, so that the Transport and Inject
// send on the whole list, as a vendor MUST: for the run that continues the
// request, its components and the runs nested in it, which hold the same
// trace ID and the same trace.TraceState. Anything else — a ctx whose run
// has another trace or another trace state — sends its own.
type wireState struct {
	traceID [16]byte
	otel    string // the trace.TraceState's String: what the run holds
	list    string // what arrived, validated
}

type wireStateKey struct{}

// withWireState returns ctx carrying the full list for the trace traceID,
// or ctx itself when ts already holds all of list.
func withWireState(ctx context.Context, traceID [16]byte, list string, ts trace.TraceState) context.Context {
	s := ts.String()
	if s == list {
		return ctx
	}
	return context.WithValue(ctx, wireStateKey{}, wireState{traceID: traceID, otel: s, list: list})
}

// tracestateFor returns the tracestate to send for the span context sc,
// current in ctx: the list it arrived with, if ctx carries it for the same
// trace and trace state, else sc's own.
func tracestateFor(ctx context.Context, sc trace.SpanContext) string {
	s := sc.TraceState().String()
	if ws, ok := ctx.Value(wireStateKey{}).(wireState); ok && ws.traceID == sc.TraceID() && ws.otel == s {
		return ws.list
	}
	return s
}

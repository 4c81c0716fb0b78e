package ftmcp

import (
	"context"
	"encoding/hex"
	"maps"
	"reflect"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/tracing"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/propagation"
)

// Keys of a request's params._meta that carry the trace context (MCP
// SEP-414): the W3C Trace Context and Baggage fields, named as their HTTP
// headers are, in lower case.
const (
	MetaTraceparent = "traceparent"
	MetaTracestate  = "tracestate"
	MetaBaggage     = "baggage"
)

// MaxMetaValueLen is the longest value of a trace context key of _meta that
// is read, in bytes: the W3C Baggage limit, which a valid traceparent or
// tracestate is far below. A longer value makes the whole trace context of
// the request untrusted.
const MaxMetaValueLen = 8192

var metaKeys = [...]string{MetaTraceparent, MetaTracestate, MetaBaggage}

// extractMeta returns a ctx under which StartTracers continues the caller
// that meta names, and reports whether it names one. meta is untrusted: a
// trace context key holding anything but a string, or a string longer than
// MaxMetaValueLen, means the sender does not follow SEP-414, and none of
// its trace context is used. The strings themselves are parsed by
// tracing.Extract, with its rules (a malformed traceparent is ignored; so
// is malformed baggage, alone).
func extractMeta(ctx context.Context, meta map[string]any) (context.Context, bool) {
	var carrier propagation.MapCarrier
	for _, k := range metaKeys {
		v, present := meta[k]
		if !present {
			continue
		}
		s, ok := v.(string)
		if !ok || len(s) > MaxMetaValueLen {
			return ctx, false
		}
		if carrier == nil {
			carrier = make(propagation.MapCarrier, len(metaKeys))
		}
		carrier[k] = s
	}
	tp := carrier[MetaTraceparent]
	if tp == "" {
		return ctx, false
	}
	out := tracing.Extract(ctx, carrier)
	// Extract returns ctx itself for a traceparent it refuses; ctx may
	// already hold a remote parent of its own, so the parent found is
	// checked against the traceparent read.
	p, ok := flowtrace.RemoteParentFromContext(out)
	if !ok || !sameTraceID(p.TraceID, tp) {
		return ctx, false
	}
	return out, true
}

// sameTraceID reports whether traceparent names the trace id.
func sameTraceID(id [16]byte, traceparent string) bool {
	var buf [32]byte
	hex.Encode(buf[:], id[:])
	return len(traceparent) >= 35 && traceparent[3:35] == string(buf[:])
}

// injectMeta returns a copy of meta with the trace context of ctx's scope
// written into it, or nil when ctx carries no run. The caller's keys are
// kept, but for traceparent, which names the component the request is; the
// caller's baggage members are kept after flowtrace's; the caller's
// tracestate is kept only if its traceparent named the same trace, as it
// describes that trace.
func injectMeta(ctx context.Context, meta map[string]any) map[string]any {
	carrier := make(propagation.MapCarrier, len(metaKeys))
	if s, ok := meta[MetaBaggage].(string); ok {
		carrier[MetaBaggage] = s
	}
	if !tracing.Inject(ctx, carrier) {
		return nil
	}
	out := make(map[string]any, len(meta)+len(carrier))
	maps.Copy(out, meta)
	for k, v := range carrier {
		out[k] = v
	}
	if _, wrote := carrier[MetaTracestate]; !wrote {
		rc, _ := flowtrace.RunFromContext(ctx)
		if old, ok := meta[MetaTraceparent].(string); !ok || !sameTraceID(rc.TraceID(), old) {
			delete(out, MetaTracestate)
		}
	}
	return out
}

// paramsOf returns req's params, or nil when it has none; a nil pointer
// in the interface is none (calling GetMeta on one would panic).
func paramsOf(req mcp.Request) mcp.Params {
	if req == nil {
		return nil
	}
	p := req.GetParams()
	if p == nil || isNilPointer(p) {
		return nil
	}
	return p
}

// isNilPointer reports whether v holds a nil pointer.
func isNilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// metaOf returns the _meta of p, nil when p is nil.
func metaOf(p mcp.Params) map[string]any {
	if p == nil {
		return nil
	}
	return p.GetMeta()
}

// withMeta returns a copy of req whose params are a copy of req's with
// meta as their _meta, and reports whether it could make one. The caller's
// request, params and _meta map are not modified: a caller may send one
// params value from several goroutines, or again outside any run, and must
// not find one run's trace context in it. Both copies are shallow, of the
// struct types the SDK defines (*mcp.ClientRequest[P], with P a pointer to
// a params struct or the Params interface holding one), so the SDK's type
// assertions on the request hold. A request with no params at all (a ping
// sent with nil params) has no _meta to write into: it is sent as it is.
func withMeta(req mcp.Request, meta map[string]any) (mcp.Request, bool) {
	rv := reflect.ValueOf(req)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return nil, false
	}
	nr := reflect.New(rv.Elem().Type())
	nr.Elem().Set(rv.Elem())
	pf := nr.Elem().FieldByName("Params")
	if !pf.IsValid() || !pf.CanSet() {
		return nil, false
	}
	cur := pf // the SDK's requests hold a *XParams, or a Params holding one
	if cur.Kind() == reflect.Interface {
		if cur.IsNil() {
			return nil, false
		}
		cur = cur.Elem()
	}
	if cur.Kind() != reflect.Pointer || cur.Type().Elem().Kind() != reflect.Struct {
		return nil, false
	}
	np := reflect.New(cur.Type().Elem())
	if !cur.IsNil() {
		np.Elem().Set(cur.Elem())
	}
	p, ok := np.Interface().(mcp.Params)
	if !ok || !np.Type().AssignableTo(pf.Type()) {
		return nil, false
	}
	p.SetMeta(meta)
	pf.Set(np)
	r, ok := nr.Interface().(mcp.Request)
	return r, ok
}

package ftmcp

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/flowtrace/flowtrace"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const seedTP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

// checkExtract asserts what extractMeta promises for any meta: no panic; a
// ctx continuing exactly the trace the traceparent names, or ctx itself.
func checkExtract(t *testing.T, meta map[string]any) {
	t.Helper()
	ctx := context.Background()
	out, ok := extractMeta(ctx, meta)
	p, has := flowtrace.RemoteParentFromContext(out)
	if !ok {
		assert.False(t, has, "no remote parent unless one is reported")
		return
	}
	require.True(t, has)
	assert.True(t, p.Valid())
	tp, isString := meta[MetaTraceparent].(string)
	require.True(t, isString, "a parent only from a string traceparent")
	assert.True(t, sameTraceID(p.TraceID, tp), "the trace the traceparent names")
	for _, k := range metaKeys {
		if v, present := meta[k]; present {
			s, isString := v.(string)
			assert.True(t, isString, "%s is a string", k)
			assert.LessOrEqual(t, len(s), MaxMetaValueLen)
		}
	}
}

// TestExtractMetaGoValues passes values no JSON decoder makes, as an
// in-process caller could: none is trace context, none panics.
func TestExtractMetaGoValues(t *testing.T) {
	var nilMap map[string]any
	var nilPtr *string
	for name, v := range map[string]any{
		"func": func() {}, "chan": make(chan int), "bytes": []byte(seedTP), "nil pointer": nilPtr,
		"pointer": &[]string{seedTP}[0], "Secret": flowtrace.Secret(seedTP), "nil map": nilMap, "int": 1,
	} {
		t.Run(name, func(t *testing.T) {
			out, ok := extractMeta(context.Background(), map[string]any{MetaTraceparent: v})
			assert.False(t, ok)
			assert.Equal(t, context.Background(), out)
		})
	}
	_, ok := extractMeta(context.Background(), nil)
	assert.False(t, ok, "nil _meta")
	_, ok = extractMeta(nil, map[string]any{MetaTraceparent: seedTP}) //nolint:staticcheck // a nil ctx must not panic
	assert.True(t, ok, "a nil ctx is Background")
}

func TestWithMetaCopiesRequest(t *testing.T) {
	orig := &mcp.CallToolParams{Meta: mcp.Meta{"k": "v"}, Name: "t"}
	req := &mcp.ClientRequest[mcp.Params]{Params: orig}
	got, ok := withMeta(req, map[string]any{"traceparent": seedTP})
	require.True(t, ok)
	assert.Equal(t, mcp.Meta{"k": "v"}, orig.Meta, "the caller's params are not modified")
	assert.Same(t, orig, req.Params, "nor is the caller's request")
	p := got.GetParams().(*mcp.CallToolParams)
	assert.Equal(t, "t", p.Name)
	assert.Equal(t, map[string]any{"traceparent": seedTP}, p.GetMeta())

	_, ok = withMeta(&mcp.ClientRequest[mcp.Params]{}, map[string]any{})
	assert.False(t, ok, "no params to write into")
	typed, ok := withMeta(&mcp.ClientRequest[*mcp.PingParams]{}, map[string]any{"x": "y"})
	require.True(t, ok, "a typed nil params is replaced by new params")
	assert.Equal(t, map[string]any{"x": "y"}, typed.GetParams().GetMeta())
	_, ok = withMeta(nil, nil)
	assert.False(t, ok)
}

// FuzzExtractMeta fuzzes the three trace context strings of _meta.
func FuzzExtractMeta(f *testing.F) {
	f.Add(seedTP, "", "flowtrace.run.id=r1")
	f.Add(seedTP, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7", "flowtrace.run.id=r1,flowtrace.session.id=s")
	f.Add(strings.ToUpper(seedTP), "", "")
	f.Add("00-00000000000000000000000000000000-b7ad6b7169203331-01", "", "")
	f.Add("ff"+seedTP[2:], "x", "=;=")
	f.Add(seedTP+"-extra", "", "a=b;prop")
	f.Add("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03-future", "", "flowtrace.run.id=%ff")
	f.Add(" "+seedTP+" ", "", "flowtrace.run.id= r1 ")
	f.Fuzz(func(t *testing.T, tp, ts, bg string) {
		meta := map[string]any{MetaTraceparent: tp}
		if ts != "" {
			meta[MetaTracestate] = ts
		}
		if bg != "" {
			meta[MetaBaggage] = bg
		}
		checkExtract(t, meta)
	})
}

// FuzzExtractMetaJSON fuzzes _meta as the wire carries it: any JSON object.
func FuzzExtractMetaJSON(f *testing.F) {
	f.Add([]byte(`{"traceparent":"` + seedTP + `","baggage":"flowtrace.run.id=r1"}`))
	f.Add([]byte(`{"traceparent":42}`))
	f.Add([]byte(`{"traceparent":["` + seedTP + `"],"baggage":{"a":1}}`))
	f.Add([]byte(`{"traceparent":null,"tracestate":true}`))
	f.Add([]byte(`{"traceparent":"` + seedTP + `","tracestate":1.5}`))
	f.Add([]byte(`{"Traceparent":"` + seedTP + `"}`))
	f.Add([]byte(`{"traceparent":"` + seedTP + `\u0000"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var meta map[string]any
		if json.Unmarshal(data, &meta) != nil {
			return
		}
		checkExtract(t, meta)
	})
}

package ftmcp_test

import (
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	callerTrace = "0af7651916cd43dd8448eb211c80319c"
	callerSpan  = "b7ad6b7169203331"
	validTP     = "00-" + callerTrace + "-" + callerSpan + "-01"
	validBag    = "flowtrace.run.id=caller-run"
)

// TestHostileMetaStartsFreshRun sends _meta a client controls entirely (no
// ClientMiddleware) to a traced server: what is not valid trace context in
// the SEP-414 keys starts a fresh trace, and nothing panics.
func TestHostileMetaStartsFreshRun(t *testing.T) {
	type want int
	const (
		fresh     want = iota // a new trace, no parent
		continued             // the caller's trace, run and span
		traceOnly             // the caller's trace and span, no parent run (baggage ignored)
	)
	long := strings.Repeat("a", 10_000)
	cases := []struct {
		name string
		meta map[string]any
		want want
	}{
		{"no trace context", map[string]any{"other": "x"}, fresh},
		{"valid", map[string]any{"traceparent": validTP, "baggage": validBag}, continued},
		{"valid, tracestate kept out of the way", map[string]any{"traceparent": validTP, "tracestate": "v=1", "baggage": validBag}, continued},
		{"traceparent a number", map[string]any{"traceparent": 42, "baggage": validBag}, fresh},
		{"traceparent an object", map[string]any{"traceparent": map[string]any{"v": validTP}}, fresh},
		{"traceparent an array", map[string]any{"traceparent": []any{validTP}}, fresh},
		{"traceparent null", map[string]any{"traceparent": nil, "baggage": validBag}, fresh},
		{"traceparent a bool", map[string]any{"traceparent": true}, fresh},
		{"traceparent empty", map[string]any{"traceparent": ""}, fresh},
		{"traceparent oversized", map[string]any{"traceparent": validTP + long}, fresh},
		{"traceparent one byte too long", map[string]any{"traceparent": validTP + "0"}, fresh},
		{"traceparent upper-case hex", map[string]any{"traceparent": strings.ToUpper(validTP)}, fresh},
		{"traceparent zero trace ID", map[string]any{"traceparent": "00-" + strings.Repeat("0", 32) + "-" + callerSpan + "-01"}, fresh},
		{"traceparent zero span ID", map[string]any{"traceparent": "00-" + callerTrace + "-" + strings.Repeat("0", 16) + "-01"}, fresh},
		{"traceparent version ff", map[string]any{"traceparent": "ff" + validTP[2:]}, fresh},
		{"traceparent garbage", map[string]any{"traceparent": "hello\x00world"}, fresh},
		{"traceparent under another case", map[string]any{"Traceparent": validTP, "baggage": validBag}, fresh},
		{"baggage a number", map[string]any{"traceparent": validTP, "baggage": 7}, fresh},
		{"baggage an object", map[string]any{"traceparent": validTP, "baggage": map[string]any{"flowtrace.run.id": "x"}}, fresh},
		{"baggage oversized", map[string]any{"traceparent": validTP, "baggage": validBag + "," + long}, fresh},
		{"tracestate a number", map[string]any{"traceparent": validTP, "tracestate": 1.5, "baggage": validBag}, fresh},
		{"tracestate oversized", map[string]any{"traceparent": validTP, "tracestate": long, "baggage": validBag}, fresh},
		{"baggage malformed", map[string]any{"traceparent": validTP, "baggage": "=;=,,=="}, traceOnly},
		{"baggage run ID with a control character", map[string]any{"traceparent": validTP, "baggage": "flowtrace.run.id=a%07b"}, traceOnly},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tools := newSide(t)
			cs, closeSession := connectInMemory(t, nil, tools.svc)
			res, err := cs.CallTool(waitCtx(t), &mcp.CallToolParams{
				Meta: tc.meta, Name: "echo_meta", Arguments: map[string]any{"q": 1},
			})
			require.NoError(t, err, "the call is served")
			require.False(t, res.IsError, "the tool answers")
			closeSession()
			tools.shutdown(t)

			runs := tools.mem.Runs()
			require.Len(t, runs, 1, "one run for the call")
			r := viewOf(t, runs[0])
			assert.Equal(t, "tools/call echo_meta", r.Name)
			assert.Equal(t, map[string]any{"q": float64(1)}, r.Inputs)
			assert.Empty(t, r.Err)
			switch tc.want {
			case fresh:
				assert.NotEqual(t, callerTrace, r.TraceID, "a new trace")
				assert.Empty(t, r.ParentRunID)
				assert.Empty(t, r.ParentSpanID)
				assert.False(t, runs[0].Info.ParentRemote)
			case continued:
				assert.Equal(t, callerTrace, r.TraceID)
				assert.Equal(t, "caller-run", r.ParentRunID)
				assert.Equal(t, callerSpan, r.ParentSpanID)
				assert.True(t, runs[0].Info.ParentRemote)
			case traceOnly:
				assert.Equal(t, callerTrace, r.TraceID)
				assert.Empty(t, r.ParentRunID, "baggage ignored")
				assert.Equal(t, callerSpan, r.ParentSpanID)
			}
		})
	}
}

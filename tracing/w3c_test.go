package tracing_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace/tracing"
)

// The cases of the W3C Trace Context test suite (github.com/w3c/trace-context,
// test/test.py, at SPEC_LEVEL=2 STRICT_LEVEL=2), run the way its harness
// runs them: a request with the given header lines reaches a service
// built as the README shows (Middleware on the server, the handler
// calling back through Transport in its ctx), and the callbacks' headers
// are checked as the suite checks them.

const (
	w3cTrace = "12345678901234567890123456789012"
	w3cTP    = "00-" + w3cTrace + "-1234567890123456-00"
	w3cTPs   = "00-" + w3cTrace + "-1234567890123456-01"
)

// callback is what the harness sees of one callback.
type callback struct {
	version, traceID, parentID string
	flags                      byte
	state                      []string // tracestate members, "k=v", in order
}

func (c callback) has(key, value string) bool {
	for _, m := range c.state {
		if m == key+"="+value {
			return true
		}
	}
	return false
}

func (c callback) hasKey(key string) bool {
	for _, m := range c.state {
		if strings.HasPrefix(m, key+"=") {
			return true
		}
	}
	return false
}

// w3cService returns a function that sends one request with the given
// header lines (name, value) to the test service and returns the
// callbacks it made, n of them.
func w3cService(t *testing.T) func(t *testing.T, lines [][2]string, n int) []callback {
	svc, _ := newService(t)
	var mu sync.Mutex
	var got []http.Header
	harness, harnessDone := serve(t, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Clone())
		mu.Unlock()
	}))
	client := &http.Client{Transport: tracing.Transport(harness.Client().Transport)}
	var calls int
	service, serviceDone := serve(t, tracing.Middleware(svc, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		for range calls {
			get(t, r.Context(), client, harness.URL, nil)
		}
	})))
	return func(t *testing.T, lines [][2]string, n int) []callback {
		t.Helper()
		mu.Lock()
		got, calls = nil, n
		mu.Unlock()
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, service.URL, nil)
		require.NoError(t, err)
		for _, l := range lines {
			req.Header[l[0]] = append(req.Header[l[0]], l[1]) // the name as given, not canonicalised
		}
		resp, err := service.Client().Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		wait(t, serviceDone, 1)
		wait(t, harnessDone, n)
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, got, n, "callbacks made")
		out := make([]callback, n)
		for i, h := range got {
			tps := h.Values("traceparent")
			require.Len(t, tps, 1, "one traceparent per callback")
			f := strings.Split(tps[0], "-")
			require.Len(t, f, 4, "a version 00 traceparent: %q", tps[0])
			require.Regexp(t, `^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$`, tps[0])
			out[i] = callback{version: f[0], traceID: f[1], parentID: f[2], flags: unhex(f[3])}
			for _, line := range h.Values("tracestate") {
				for _, m := range strings.Split(line, ",") {
					if m = strings.Trim(m, " \t"); m != "" {
						out[i].state = append(out[i].state, m)
					}
				}
			}
		}
		return out
	}
}

func unhex(s string) byte {
	var b byte
	for _, c := range []byte(s) {
		b <<= 4
		if c >= 'a' {
			b |= c - 'a' + 10
		} else {
			b |= c - '0'
		}
	}
	return b
}

func TestW3CTraceparent(t *testing.T) {
	send := w3cService(t)
	// Each value is sent alone as "traceparent"; continued says whether
	// the callback must keep the trace ID w3cTrace.
	tests := []struct {
		name      string
		lines     [][2]string
		continued bool
	}{
		{"missing", nil, false},
		{"valid", [][2]string{{"traceparent", w3cTPs}}, true},
		{"casing TraceParent", [][2]string{{"TraceParent", w3cTPs}}, true},
		{"casing TRACEPARENT", [][2]string{{"TRACEPARENT", w3cTPs}}, true},
		{"wrong name trace-parent", [][2]string{{"trace-parent", w3cTPs}}, false},
		{"wrong name trace.parent", [][2]string{{"trace.parent", w3cTPs}}, false},
		{"duplicated", [][2]string{{"traceparent", "00-12345678901234567890123456789011-1234567890123456-01"}, {"traceparent", w3cTPs}}, false},
		{"version 00 trailing dot", [][2]string{{"traceparent", w3cTPs + "."}}, false},
		{"version 00 with future fields", [][2]string{{"traceparent", w3cTPs + "-what-the-future-will-be-like"}}, false},
		{"version cc", [][2]string{{"traceparent", "cc" + w3cTPs[2:]}}, true},
		{"version cc with future fields", [][2]string{{"traceparent", "cc" + w3cTPs[2:] + "-what-the-future-will-be-like"}}, true},
		{"version cc, no dash after flags", [][2]string{{"traceparent", "cc" + w3cTPs[2:] + ".what-the-future-will-be-like"}}, false},
		{"version ff", [][2]string{{"traceparent", "ff" + w3cTPs[2:]}}, false},
		{"version .0", [][2]string{{"traceparent", ".0" + w3cTPs[2:]}}, false},
		{"version 0.", [][2]string{{"traceparent", "0." + w3cTPs[2:]}}, false},
		{"version too long", [][2]string{{"traceparent", "000" + w3cTPs[2:]}}, false},
		{"version too short", [][2]string{{"traceparent", "0" + w3cTPs[2:]}}, false},
		{"trace ID all zero", [][2]string{{"traceparent", "00-00000000000000000000000000000000-1234567890123456-01"}}, false},
		{"trace ID illegal first", [][2]string{{"traceparent", "00-.2345678901234567890123456789012-1234567890123456-01"}}, false},
		{"trace ID illegal last", [][2]string{{"traceparent", "00-1234567890123456789012345678901.-1234567890123456-01"}}, false},
		{"trace ID too long", [][2]string{{"traceparent", "00-123456789012345678901234567890123-1234567890123456-01"}}, false},
		{"trace ID too short", [][2]string{{"traceparent", "00-1234567890123456789012345678901-1234567890123456-01"}}, false},
		{"parent ID all zero", [][2]string{{"traceparent", "00-" + w3cTrace + "-0000000000000000-01"}}, false},
		{"parent ID illegal first", [][2]string{{"traceparent", "00-" + w3cTrace + "-.234567890123456-01"}}, false},
		{"parent ID illegal last", [][2]string{{"traceparent", "00-" + w3cTrace + "-123456789012345.-01"}}, false},
		{"parent ID too long", [][2]string{{"traceparent", "00-" + w3cTrace + "-12345678901234567-01"}}, false},
		{"parent ID too short", [][2]string{{"traceparent", "00-" + w3cTrace + "-123456789012345-01"}}, false},
		{"flags illegal first", [][2]string{{"traceparent", "00-" + w3cTrace + "-1234567890123456-.0"}}, false},
		{"flags illegal last", [][2]string{{"traceparent", "00-" + w3cTrace + "-1234567890123456-0."}}, false},
		{"flags too long", [][2]string{{"traceparent", "00-" + w3cTrace + "-1234567890123456-001"}}, false},
		{"flags too short", [][2]string{{"traceparent", "00-" + w3cTrace + "-1234567890123456-1"}}, false},
		{"OWS space before", [][2]string{{"traceparent", " " + w3cTPs}}, true},
		{"OWS tab before", [][2]string{{"traceparent", "\t" + w3cTPs}}, true},
		{"OWS space after", [][2]string{{"traceparent", w3cTPs + " "}}, true},
		{"OWS tab after", [][2]string{{"traceparent", w3cTPs + "\t"}}, true},
		{"OWS both", [][2]string{{"traceparent", "\t " + w3cTPs + " \t"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cb := send(t, tt.lines, 1)[0]
			assert.Equal(t, "00", cb.version, "flowtrace sends version 00")
			assert.NotEqual(t, strings.Repeat("0", 32), cb.traceID)
			assert.NotEqual(t, strings.Repeat("0", 16), cb.parentID)
			if tt.continued {
				assert.Equal(t, w3cTrace, cb.traceID, "the caller's trace continued")
				assert.NotEqual(t, "1234567890123456", cb.parentID, "a parent-id of the service's own")
			} else {
				assert.NotEqual(t, w3cTrace, cb.traceID, "a new trace")
				assert.NotEqual(t, "12345678901234567890123456789011", cb.traceID, "a new trace")
				assert.Equal(t, byte(0x02), cb.flags&0x02, "a generated trace ID is random")
			}
		})
	}
}

func TestW3CTracestate(t *testing.T) {
	send := w3cService(t)
	allKey := "abcdefghijklmnopqrstuvwxyz0123456789_-*/"
	var allValue strings.Builder
	for c := byte(0x20); c <= 0x7e; c++ {
		if c != ',' && c != '=' {
			allValue.WriteByte(c)
		}
	}
	var members32 [][2]string
	for i := 1; i <= 32; i++ {
		members32 = append(members32, [2]string{"tracestate", "bar" + twoDigits(i) + "=" + twoDigits(i)})
	}
	members33 := append(append([][2]string{}, members32...), [2]string{"tracestate", "bar33=33"})
	tp := func(lines ...[2]string) [][2]string { return append([][2]string{{"traceparent", w3cTP}}, lines...) }
	ts := func(v string) [2]string { return [2]string{"tracestate", v} }
	tests := []struct {
		name  string
		lines [][2]string
		want  []string // exactly these members, in this order; nil: none
	}{
		{"without traceparent, discarded", [][2]string{ts("foo=1,bar=2")}, nil},
		{"inherited", tp(ts("foo=1,bar=2")), []string{"foo=1", "bar=2"}},
		{"wrong name trace-state", tp([2]string{"trace-state", "foo=1"}), nil},
		{"wrong name trace.state", tp([2]string{"trace.state", "foo=1"}), nil},
		{"casing TraceState", tp([2]string{"TraceState", "foo=1"}), []string{"foo=1"}},
		{"casing TRACESTATE", tp([2]string{"TRACESTATE", "foo=1"}), []string{"foo=1"}},
		{"empty", tp(ts("")), nil},
		{"empty after", tp(ts("foo=1"), ts("")), []string{"foo=1"}},
		{"empty before", tp(ts(""), ts("foo=1")), []string{"foo=1"}},
		{"several lines combined in order", tp(ts("foo=1,bar=2"), ts("rojo=1,congo=2"), ts("baz=3")), []string{"foo=1", "bar=2", "rojo=1", "congo=2", "baz=3"}},
		{"duplicate key in a line", tp(ts("foo=1,foo=2")), []string{"foo=1"}},
		{"duplicate key across lines", tp(ts("foo=1"), ts("foo=2")), []string{"foo=1"}},
		{"all allowed characters", tp(ts(allKey + "=" + allValue.String())), []string{allKey + "=" + allValue.String()}},
		{"all allowed characters, key with @", tp(ts(allKey + "@a-z0-9_-*/=" + allValue.String())), []string{allKey + "@a-z0-9_-*/=" + allValue.String()}},
		{"OWS around members", tp(ts("foo=1 \t , \t bar=2, \t baz=3")), []string{"foo=1", "bar=2", "baz=3"}},
		{"OWS tabs", tp(ts("foo=1\t \t,\t \tbar=2,\t \tbaz=3")), []string{"foo=1", "bar=2", "baz=3"}},
		{"OWS leading", tp(ts("\t foo=1")), []string{"foo=1"}},
		{"OWS trailing", tp(ts("foo=1 \t")), []string{"foo=1"}},
		{"key with space", tp(ts("foo =1")), nil},
		{"key upper case", tp(ts("FOO=1")), nil},
		{"key with dot", tp(ts("foo.bar=1")), nil},
		{"key ending in @", tp(ts("foo@=1,bar=2")), []string{"foo@=1", "bar=2"}},
		{"key starting with @", tp(ts("@foo=1,bar=2")), nil},
		{"key with @@", tp(ts("foo@@bar=1,bar=2")), []string{"foo@@bar=1", "bar=2"}},
		{"key with two @", tp(ts("foo@bar@baz=1,bar=2")), []string{"foo@bar@baz=1", "bar=2"}},
		{"key of 256", tp(ts("foo=1"), ts(strings.Repeat("z", 256)+"=1")), []string{"foo=1", strings.Repeat("z", 256) + "=1"}},
		{"key of 257", tp(ts("foo=1"), ts(strings.Repeat("z", 257)+"=1")), nil},
		{"key of 256 with @", tp(ts("foo=1"), ts(strings.Repeat("t", 241)+"@"+strings.Repeat("v", 14)+"=1")), []string{"foo=1", strings.Repeat("t", 241) + "@" + strings.Repeat("v", 14) + "=1"}},
		{"long system after @", tp(ts("foo=1"), ts("t@"+strings.Repeat("v", 15)+"=1")), []string{"foo=1", "t@" + strings.Repeat("v", 15) + "=1"}},
		{"value with =", tp(ts("foo=bar=baz")), nil},
		{"empty value", tp(ts("foo=,bar=3")), nil},
		{"32 members", tp(members32...), nil}, // checked below
		{"33 members", tp(members33...), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cb := send(t, tt.lines, 1)[0]
			if tt.lines[0][0] == "traceparent" {
				assert.Equal(t, w3cTrace, cb.traceID, "a tracestate never affects the traceparent")
			}
			if tt.name == "32 members" {
				require.Len(t, cb.state, 32)
				assert.Equal(t, "bar01=01", cb.state[0])
				return
			}
			assert.Equal(t, tt.want, cb.state)
		})
	}
}

func twoDigits(i int) string { return string([]byte{byte('0' + i/10), byte('0' + i%10)}) }

func TestW3CMultipleCallbacks(t *testing.T) {
	send := w3cService(t)
	for _, tt := range []struct {
		name      string
		lines     [][2]string
		continued bool
	}{
		{"valid traceparent", [][2]string{{"traceparent", w3cTPs}}, true},
		{"no traceparent", nil, false},
		{"illegal traceparent", [][2]string{{"traceparent", "00-00000000000000000000000000000000-1234567890123456-01"}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cbs := send(t, tt.lines, 3)
			traces, parents := map[string]bool{}, map[string]bool{}
			for _, cb := range cbs {
				traces[cb.traceID], parents[cb.parentID] = true, true
			}
			assert.Len(t, traces, 1, "one trace")
			assert.Len(t, parents, 3, "each callback names a parent-id of its own")
			assert.Equal(t, tt.continued, traces[w3cTrace])
		})
	}
}

func TestW3CRandomFlag(t *testing.T) {
	send := w3cService(t)
	cb := send(t, [][2]string{{"traceparent", "00-" + w3cTrace + "-1234567890123456-02"}}, 1)[0]
	assert.Equal(t, w3cTrace, cb.traceID)
	assert.NotEqual(t, "1234567890123456", cb.parentID)
	assert.Equal(t, byte(0x02), cb.flags, "random passed on, unsampled kept")

	cb = send(t, [][2]string{{"traceparent", "00-" + w3cTrace + "-1234567890123456-01"}}, 1)[0]
	assert.Equal(t, byte(0x01), cb.flags, "random not claimed for a trace ID not known to be random")
}

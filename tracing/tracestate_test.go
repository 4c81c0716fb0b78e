package tracing

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/propagation"

	"github.com/flowtrace/flowtrace"
)

func TestParseTracestate(t *testing.T) {
	long := func(c string, n int) string { return strings.Repeat(c, n) }
	tests := []struct {
		name  string
		lines []string
		want  string
		ok    bool
	}{
		{"none", nil, "", false},
		{"empty", []string{"", " , ,\t"}, "", false},
		{"one", []string{"rojo=00f067aa0ba902b7"}, "rojo=00f067aa0ba902b7", true},
		{"lines combined", []string{"a=1", "", "b=2,c=3"}, "a=1,b=2,c=3", true},
		{"OWS dropped, leading space of a value kept", []string{" a= 1 \t,\t b=2 "}, "a= 1,b=2", true},
		{"empty members skipped", []string{"a=1,,  ,b=2"}, "a=1,b=2", true},
		{"first of a duplicate kept", []string{"a=1,b=2", "a=3"}, "a=1,b=2", true},
		{"Level 2 keys", []string{"9a=1,foo@=2,a@b@c=3"}, "9a=1,foo@=2,a@b@c=3", true},
		{"key starting with a symbol", []string{"_a=1"}, "", false},
		{"key with upper case", []string{"a=1,B=2"}, "", false},
		{"key too long", []string{long("k", 257) + "=1"}, "", false},
		{"value too long", []string{"k=" + long("v", 257)}, "", false},
		{"value ending in space inside a member", []string{"k=v \x01"}, "", false},
		{"value with a tab", []string{"k=a\tb"}, "", false},
		{"value with non-ASCII", []string{"k=é"}, "", false},
		{"no =", []string{"k"}, "", false},
		{"33 members", []string{tsMembers(33)}, "", false},
		{"33 with a duplicate is 32", []string{tsMembers(32) + ",m0=9"}, tsMembers(32), true},
		{"cut: long entries first", []string{"a=1,b=" + long("x", 200) + ",c=" + long("y", 200) + ",d=" + long("z", 150) + ",e=5"}, "a=1,e=5", true},
		{"cut: from the right", []string{tsMembersLong(6, 100)}, tsMembersLong(5, 100), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseTracestate(tt.lines)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

// tsMembers returns "m0=v,m1=v,…" with n members.
func tsMembers(n int) string {
	var b []string
	for i := range n {
		b = append(b, "m"+strconv.Itoa(i)+"=v")
	}
	return strings.Join(b, ",")
}

// tsMembersLong returns n members of size bytes each (size ≤ 128).
func tsMembersLong(n, size int) string {
	var b []string
	for i := range n {
		b = append(b, "k"+string(rune('a'+i))+"="+strings.Repeat("v", size-3))
	}
	return strings.Join(b, ",")
}

// TestTracestateIntoOpenTelemetry: what trace.TraceState can hold is kept
// there in order; the whole list still reaches Inject for the same run.
func TestTracestateIntoOpenTelemetry(t *testing.T) {
	ts := otelTraceState("a=1,foo@=2,b@c=3,x@y@z=4,d=5")
	assert.Equal(t, "a=1,b@c=3,d=5", ts.String())

	p, list, ok := remoteParent([]string{validTP}, []string{"a=1,foo@=2"}, nil)
	require.True(t, ok)
	assert.Equal(t, "a=1,foo@=2", list)
	assert.Equal(t, "a=1", p.TraceState.String())
}

// TestExtractTrimsOWS: a non-HTTP carrier gets what net/http would have
// made of the same header.
func TestExtractTrimsOWS(t *testing.T) {
	for _, v := range []string{" " + validTP, validTP + "\t", "\t " + validTP + " \t"} {
		ctx := Extract(context.Background(), propagation.MapCarrier{"traceparent": v, "tracestate": " a=1 , b=2\t"})
		p, ok := flowtrace.RemoteParentFromContext(ctx)
		require.True(t, ok, "traceparent %q continued", v)
		assert.Equal(t, "a=1,b=2", p.TraceState.String())
	}
}

func FuzzTracestate(f *testing.F) {
	for _, s := range []string{
		"", "a=1", "a=1,b=2", " a=1 \t, b=2", "foo@=1,bar=2", "@foo=1", "foo@@bar=1", "a=1,a=2",
		"k= v", "k=v ", "k=", "=v", "k==v", "K=v", ",,,", strings.Repeat("k=v,", 33),
		strings.Repeat("z", 256) + "=1", strings.Repeat("z", 257) + "=1", "a=" + strings.Repeat("v", 256),
		"a=1,b=" + strings.Repeat("x", 200) + ",c=3", "a=\x00", "a=é", "t@" + strings.Repeat("v", 15) + "=1",
	} {
		f.Add(s, "b=2")
	}
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		got, ok := parseTracestate([]string{line1, line2})
		if !ok {
			if got != "" {
				t.Fatalf("rejected with output %q", got)
			}
			return
		}
		if len(got) > maxTracestateLen {
			t.Fatalf("kept %d bytes, more than the cap", len(got))
		}
		members := strings.Split(got, ",")
		if len(members) > maxTracestateMembers {
			t.Fatalf("kept %d members", len(members))
		}
		seen := map[string]bool{}
		for _, m := range members {
			k, v, found := strings.Cut(m, "=")
			if !found || !validTracestateKey(k) || !validTracestateValue(v) || seen[k] {
				t.Fatalf("invalid or duplicate member %q kept in %q", m, got)
			}
			seen[k] = true
		}
		again, ok := parseTracestate([]string{got})
		if !ok || again != got {
			t.Fatalf("not stable: %q parsed as %q (%v)", got, again, ok)
		}
		ts := otelTraceState(got)
		if ts.Len() > len(members) {
			t.Fatalf("OpenTelemetry's view has more members than the list")
		}
	})
}

// TestInjectTracestate: Inject sends the run's tracestate, and never
// pairs a carrier's tracestate of another trace with the run's
// traceparent.
func TestInjectTracestate(t *testing.T) {
	svc, err := flowtrace.NewTraceService()
	require.NoError(t, err)
	defer func() { require.NoError(t, svc.Shutdown(context.Background())) }()

	continued, err := svc.StartTracers(Extract(context.Background(), propagation.MapCarrier{"traceparent": validTP, "tracestate": "a=1,foo@=2"}), flowtrace.RunInfo{})
	require.NoError(t, err)
	c := propagation.MapCarrier{"tracestate": "stale=1"}
	require.True(t, Inject(continued, c))
	assert.Equal(t, "a=1,foo@=2", c["tracestate"], "the whole list the run was continued with, Level 2 keys too")

	fresh, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	c = propagation.MapCarrier{"traceparent": validTP, "tracestate": "other=1"}
	require.True(t, Inject(fresh, c))
	assert.Empty(t, c["tracestate"], "another trace's tracestate emptied")

	rc, _ := flowtrace.RunFromContext(fresh)
	same := traceParent{traceID: rc.TraceID(), spanID: [8]byte{7}, sampled: true}
	c = propagation.MapCarrier{"traceparent": same.String(), "tracestate": "mine=1"}
	require.True(t, Inject(fresh, c))
	assert.Equal(t, "mine=1", c["tracestate"], "the same trace's kept")
	for _, ctx := range []context.Context{continued, fresh} {
		_, err := svc.EndTracers(ctx, nil, nil)
		require.NoError(t, err)
	}
}

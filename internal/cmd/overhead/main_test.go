package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestEveryVariantDeliversEveryTree runs the measurement in a tiny
// configuration and checks what the collector received: every span of
// every request, one trace per request across both services, shaped as
// the services traced it.
func TestEveryVariantDeliversEveryTree(t *testing.T) {
	var progress bytes.Buffer
	dir := t.TempDir()
	cfg := config{rounds: 1, duration: 200 * time.Millisecond, rate: 40, clients: 2, keep: true, progress: &progress, profile: filepath.Join(dir, "cpu")}
	rounds, err := measure(context.Background(), cfg)
	require.NoError(t, err)
	require.Len(t, rounds, 1)
	require.Len(t, rounds[0], len(variants), "one window per variant")
	for _, s := range rounds[0] {
		t.Run(s.variant, func(t *testing.T) {
			require.NoError(t, s.check(), "every request served, every span at the collector, gzipped")
			require.Positive(t, s.load.served)
			assert.Positive(t, s.cpu, "the window's CPU was read")
			if s.variant == "untraced" {
				assert.Zero(t, s.received.spans, "untraced sends nothing")
				return
			}
			assert.Equal(t, 7*s.load.served, s.received.spans)
			traces := byTrace(s.received.resourceSpans)
			require.Len(t, traces, s.load.served, "one trace per request, across both services")
			for id, spans := range traces {
				checkTree(t, id, spans)
			}
		})
	}
	assert.Contains(t, progress.String(), "round 1 flowtrace")
	for _, v := range variants {
		info, err := os.Stat(filepath.Join(dir, "cpu-round1-"+v.name+".pprof"))
		if assert.NoError(t, err, "a CPU profile of each window") {
			assert.Positive(t, info.Size())
		}
	}

	var out bytes.Buffer
	table(&out, cfg, rounds, "go run ./internal/cmd/overhead")
	assert.Contains(t, out.String(), "| flowtrace: Middleware, Transport, otelspans.NewOTLP (gzip) |")
	assert.Contains(t, out.String(), "go run ./internal/cmd/overhead")
	assert.Regexp(t, `\nratios:( [0-9.]+)*\n$`, out.String(), "the last line has the rounds' ratios, for benchtable")
}

// span is a decoded span with the service that sent it.
type span struct {
	*tracepb.Span
	service string
}

func (s span) attr(key string) *commonpb.AnyValue {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value
		}
	}
	return nil
}

func byTrace(rss []*tracepb.ResourceSpans) map[string][]span {
	out := make(map[string][]span)
	for _, rs := range rss {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.Key == "service.name" {
				service = kv.Value.GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				id := hex.EncodeToString(sp.TraceId)
				out[id] = append(out[id], span{Span: sp, service: service})
			}
		}
	}
	return out
}

// checkTree checks one request's trace: A's run (a server span, the root)
// → planner → search-tool → the client span of the call to B → B's run (a
// server span) → vector-search; planner → answer, the model call.
func checkTree(t *testing.T, id string, spans []span) {
	t.Helper()
	require.Len(t, spans, 7, "trace %s: the spans of one request", id)
	byID := make(map[string]span)
	children := make(map[string][]span)
	var roots []span
	for _, s := range spans {
		byID[string(s.SpanId)] = s
		if len(s.ParentSpanId) == 0 {
			roots = append(roots, s)
		} else {
			children[string(s.ParentSpanId)] = append(children[string(s.ParentSpanId)], s)
		}
	}
	require.Len(t, roots, 1, "trace %s: one root", id)
	for _, s := range spans {
		if len(s.ParentSpanId) > 0 {
			require.Contains(t, byID, string(s.ParentSpanId), "trace %s: span %q has its parent in the trace", id, s.Name)
		}
	}
	// only returns the single child of parent matching ok.
	only := func(parent span, what string, ok func(span) bool) span {
		t.Helper()
		var found []span
		for _, c := range children[string(parent.SpanId)] {
			if ok(c) {
				found = append(found, c)
			}
		}
		require.Len(t, found, 1, "trace %s: one %s under %q", id, what, parent.Name)
		return found[0]
	}
	named := func(name string) func(span) bool { return func(s span) bool { return s.Name == name } }
	kind := func(k tracepb.Span_SpanKind) func(span) bool { return func(s span) bool { return s.Kind == k } }

	run := roots[0]
	assert.Equal(t, tracepb.Span_SPAN_KIND_SERVER, run.Kind, "A's run is its server span")
	assert.Equal(t, "overhead-a", run.service)
	assert.True(t, strings.HasPrefix(run.attr("session.id").GetStringValue(), "session-"), "the run's session")
	assert.Equal(t, "user-1", run.attr("user.id").GetStringValue())
	assert.Len(t, children[string(run.SpanId)], 1, "the run's one component is the planner")

	planner := only(run, "planner", named("planner"))
	assert.Equal(t, "AGENT", planner.attr("openinference.span.kind").GetStringValue())
	require.Len(t, planner.Events, 1, "the planner's log")
	assert.Equal(t, "plan", planner.Events[0].Name)

	tool := only(planner, "search tool", named("search-tool"))
	assert.Equal(t, "TOOL", tool.attr("openinference.span.kind").GetStringValue())
	assert.Contains(t, tool.attr("output.value").GetStringValue(), "documents")
	client := only(tool, "client span", kind(tracepb.Span_SPAN_KIND_CLIENT))
	assert.Equal(t, "overhead-a", client.service)
	assert.EqualValues(t, 200, client.attr("http.response.status_code").GetIntValue())
	runB := only(client, "B's run", kind(tracepb.Span_SPAN_KIND_SERVER))
	assert.Equal(t, "overhead-b", runB.service, "B continues the run in its own service")
	retriever := only(runB, "retriever", named("vector-search"))
	assert.Equal(t, "overhead-b", retriever.service)
	assert.Equal(t, "RETRIEVER", retriever.attr("openinference.span.kind").GetStringValue())

	llm := only(planner, "model call", named("answer"))
	assert.Equal(t, "LLM", llm.attr("openinference.span.kind").GetStringValue())
	assert.Equal(t, modelName, llm.attr("llm.model_name").GetStringValue())
	assert.Equal(t, modelProvider, llm.attr("llm.provider").GetStringValue())
	assert.EqualValues(t, promptTokens, llm.attr("llm.token_count.prompt").GetIntValue())
	assert.EqualValues(t, completionTokens, llm.attr("llm.token_count.completion").GetIntValue())
	assert.EqualValues(t, promptTokens+completionTokens, llm.attr("llm.token_count.total").GetIntValue())
	assert.Equal(t, "assistant", llm.attr("llm.output_messages.0.message.role").GetStringValue())
	assert.NotEmpty(t, llm.attr("input.value").GetStringValue())
	assert.Contains(t, llm.attr("output.value").GetStringValue(), "documents say")
}

func TestConfigIsValidated(t *testing.T) {
	tests := []struct {
		name string
		cfg  config
		want string
	}{
		{"no rounds", config{rounds: 0, duration: time.Second, rate: 10, clients: 1}, "-rounds 0"},
		{"no duration", config{rounds: 1, duration: 0, rate: 10, clients: 1}, "-duration 0s"},
		{"no rate", config{rounds: 1, duration: time.Second, rate: 0, clients: 1}, "-rate 0"},
		{"NaN rate", config{rounds: 1, duration: time.Second, rate: nan(), clients: 1}, "-rate NaN"},
		{"no clients", config{rounds: 1, duration: time.Second, rate: 10, clients: 0}, "-clients 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := measure(context.Background(), tt.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func nan() float64 { zero := 0.0; return zero / zero }

func TestCheckReportsMissingSpans(t *testing.T) {
	s := sample{variant: "flowtrace", round: 2, load: load{served: 10}, wantSpans: 70, received: received{requests: 3, gzipped: 3, spans: 69}}
	err := s.check()
	require.Error(t, err, "a missing span fails the round")
	assert.Contains(t, err.Error(), "round 2, flowtrace: the collector received 69 spans, want 70")

	s.received.spans, s.received.gzipped = 70, 2
	require.ErrorContains(t, s.check(), "2 of 3 export requests gzipped")

	s.received.gzipped, s.load.failed = 3, 1
	require.ErrorContains(t, s.check(), "1 requests failed")

	s.load.failed = 0
	require.NoError(t, s.check())
}

func TestSpreadOf(t *testing.T) {
	assert.Equal(t, spread{median: 2, low: 1, high: 5}, spreadOf([]float64{5, 1, 2}))
	assert.Equal(t, spread{median: 2.5, low: 1, high: 4}, spreadOf([]float64{4, 1, 3, 2}))
	assert.Equal(t, spread{}, spreadOf(nil))
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 69447: "69,447", 1234567: "1,234,567", -1234: "-1,234"} {
		assert.Equal(t, want, thousands(n), "thousands(%d)", n)
	}
}

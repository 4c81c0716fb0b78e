package flowtrace_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/jsonl"
)

// Review finding 1: LatestComponent returns a component whose End is pending (held).
func TestReviewLatestReturnsEndedHeld(t *testing.T) {
	svc, rec, log := newService(t)
	ctx, _ := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	cctx, _ := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "chain", Type: "chain"})
	lctx, _ := svc.TraceComponent(cctx, flowtrace.ComponentInfo{Name: "llm", Type: "llm"})
	release := svc.Hold(lctx) // a stream drained later
	_, llm := svc.LatestComponent(cctx, "llm")
	llm.End(nil) // deferred
	// next step: tool started under the innermost open component
	pctx, p := svc.LatestComponent(cctx, "")
	t.Logf("parent chosen after the llm's End: %v", p != nil)
	_, _ = svc.TraceComponent(pctx, flowtrace.ComponentInfo{Name: "tool", Type: "tool"})
	_, tool := svc.LatestComponent(cctx, "tool")
	tool.End(nil)
	// a second LLM end (pairing) finds the already-ended llm
	_, again := svc.LatestComponent(cctx, "llm")
	assert.Nil(t, again, "an ended (pending) llm must not be found again")
	release()
	_, ch := svc.LatestComponent(ctx, "chain")
	ch.End(nil)
	_, err := svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	run, _ := rec.Run(runID(t, ctx))
	t.Logf("tree:\n%s\nerrors: %v", run.Tree(), log.all())
	assert.Equal(t, component(t, run, "chain").Info.ComponentID, component(t, run, "tool").Info.ParentID, "tool must be the chain's child, not the ended llm's")
}

// Review finding 2: Stream keeps bytes after a cut: text is not a prefix.
func TestReviewStreamGapAfterCut(t *testing.T) {
	var st flowtrace.Stream // zero: DefaultMaxStringLen
	st.Chunk(strings.Repeat("a", flowtrace.DefaultMaxStringLen-1))
	st.Chunk("é") // 2 bytes, 1 room: dropped
	st.Chunk("b") // 1 byte: fits -> appended after the gap
	txt := st.Text()
	t.Logf("tail: %q", txt[len(txt)-40:])
	assert.NotContains(t, txt, "ab…", "text after a cut must not be kept (gap)")
	assert.Contains(t, txt, "truncated 3 B", "cut count")
}

// Review finding 3: very many messages: event size unbounded by the per-event budget.
func TestReviewManyMessages(t *testing.T) {
	svc, rec, _ := newService(t)
	ctx, _ := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	lctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "llm", Type: "llm"})
	msgs := make([]flowtrace.Message, 200000)
	role := strings.Repeat("r", 256)
	for i := range msgs {
		msgs[i] = flowtrace.Message{Role: role, Name: role, Content: "hello"}
	}
	svc.RecordModelCall(lctx, flowtrace.ModelCall{Model: "m", Input: msgs})
	c.End(nil)
	_, err := svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	run, _ := rec.Run(runID(t, ctx))
	mc := component(t, run, "llm").ModelCall()
	b, _ := json.Marshal(mc)
	t.Logf("messages kept: %d, json size %d bytes", len(mc.Input), len(b))
	assert.Less(t, len(b), 2<<20, "one event must stay near the per-event byte budget")
}

// Review finding 4: NaN cost -> jsonl
func TestReviewNaNCostJSONL(t *testing.T) {
	var buf bytes.Buffer
	j := jsonl.New(&buf)
	svc, _, log := newService(t, flowtrace.WithExporter(j))
	ctx, _ := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	lctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "llm", Type: "llm"})
	svc.RecordModelCall(lctx, flowtrace.ModelCall{Model: "m", Cost: math.NaN()})
	svc.RecordModelCall(lctx, flowtrace.ModelCall{Model: "m", Cost: math.Inf(1), Usage: flowtrace.Usage{InputTokens: -5}})
	c.End(nil)
	sum, err := svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	t.Logf("summary %+v errors %v", sum.Exporters, log.all())
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		assert.True(t, json.Valid([]byte(l)), "line %q", l)
		assert.NotContains(t, l, "cannot encode", "an unencodable cost never reaches an exporter")
	}
	assert.Len(t, log.all(), 2, "each cost no exporter can encode is reported")
}

// Review finding 5: model name / tags / role not scrubbed of a secret the run learned.
func TestReviewModelNameSecret(t *testing.T) {
	svc, rec, _ := newService(t)
	ctx, _ := svc.StartTracers(context.Background(), flowtrace.RunInfo{Metadata: map[string]any{"api_key": "sk-SECRET123456789"}})
	lctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "llm", Type: "llm"})
	svc.RecordModelCall(lctx, flowtrace.ModelCall{Model: "ft:sk-SECRET123456789", Parameters: map[string]any{"k": "sk-SECRET123456789"},
		Input: []flowtrace.Message{{Role: "user", Name: "sk-SECRET123456789", Content: "key sk-SECRET123456789"}}})
	c.End(nil)
	_, err := svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	run, _ := rec.Run(runID(t, ctx))
	mc := component(t, run, "llm").ModelCall()
	t.Logf("model %q params %v msg %+v", mc.Model, mc.Parameters, mc.Input)
	assert.NotContains(t, mc.Model, "SECRET")
	assert.NotContains(t, mc.Input[0].Name, "SECRET")
}

// Review lesser findings: costs no exporter can encode, negative counts,
// and a Hold in a refused start's ctx.
func TestReviewCostUsageAndRefusedHold(t *testing.T) {
	svc, rec, log := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	lctx, llm := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "llm", Type: flowtrace.TypeLLM})
	svc.RecordModelCall(lctx, flowtrace.ModelCall{Cost: math.NaN(), Usage: flowtrace.Usage{InputTokens: -5, OutputTokens: 3}})
	pctx, parent := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "parent"})
	parent.End(nil)
	refused, _ := svc.TraceComponent(pctx, flowtrace.ComponentInfo{Name: "refused"})
	svc.Hold(refused)() // holds nothing: EndTracers must not wait for it
	never := svc.Hold(refused)
	_ = never // never released
	llm.End(nil)
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err, "a Hold in a refused start's ctx does not hold the run")
	run, _ := rec.Run(runID(t, ctx))
	mc := component(t, run, "llm").ModelCall()
	assert.Zero(t, mc.Cost, "a NaN cost is recorded as unknown")
	assert.Equal(t, flowtrace.Usage{OutputTokens: 3}, mc.Usage, "negative counts are 0")
	found := false
	for _, e := range log.all() {
		found = found || strings.Contains(e.Error(), "cost NaN")
	}
	assert.True(t, found, "the NaN cost is reported")
}

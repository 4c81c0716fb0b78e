package flowtrace_test

// Tests of the write path (write.go): every record kind is snapshotted,
// masked, scrubbed of the run's secrets and bounded the same way.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
)

// TestEveryLabelIsMaskedAndScrubbed is issue 16, item 6: a URL's user info
// in a model call's Provider or Model was recorded in clear, and a secret
// the run had learned stayed in FinishReasons. Every string of every record
// kind gets the masking and scrubbing of a log message.
func TestEveryLabelIsMaskedAndScrubbed(t *testing.T) {
	const (
		learned = "sk-live-0123456789abcdef" // masked at the run's start: learned
		urlPass = "hunter2-hunter2"          // a URL's password
		urlUser = "ghp_tokentokentoken"      // a URL's user info without password, often a token
	)
	svc, rec, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{
		RunName: "run " + learned, // scrubbed too: it is learned by the same event
		Inputs:  map[string]any{"api_key": learned},
	})
	require.NoError(t, err)
	lctx, llm := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "llm at https://" + urlUser + "@models.example.com", Type: flowtrace.TypeLLM})
	svc.RecordModelCall(lctx, flowtrace.ModelCall{
		Provider:      "https://app:" + urlPass + "@gateway.example.com/v1",
		Model:         "https://" + urlUser + "@models.example.com/gpt",
		FinishReasons: []string{"stop " + learned, "length"},
		Input:         []flowtrace.Message{{Role: "user", Name: "n " + learned, Content: "hi"}},
		Output:        []flowtrace.Message{{Role: "assistant", ToolCalls: []flowtrace.ToolCall{{ID: learned, Name: "f"}}}},
	})
	svc.AddLog(lctx, flowtrace.Log{Name: "note", Type: "type " + learned, Message: "m"})
	llm.End(nil)
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)

	run, _ := rec.Run(runID(t, ctx))
	c := run.Components[0]
	mc := c.ModelCall()
	assert.Equal(t, "https://app:*****@gateway.example.com/v1", mc.Provider, "a URL's password is masked in Provider")
	assert.Equal(t, "https://*****@models.example.com/gpt", mc.Model, "a URL's user info is masked in Model")
	assert.Equal(t, []string{"stop *****", "length"}, mc.FinishReasons, "a learned secret is scrubbed from FinishReasons")
	assert.Equal(t, "n *****", mc.Input[0].Name)
	assert.Equal(t, flowtrace.Masked, mc.Output[0].ToolCalls[0].ID)
	assert.Equal(t, "llm at https://*****@models.example.com", c.Info.Name, "a component's name is masked like a log message")
	require.Len(t, c.Logs, 1)
	assert.Equal(t, "type *****", c.Logs[0].Type, "a log's type is scrubbed")
	assert.Equal(t, "run *****", run.Info.RunName, "a run's name is scrubbed of what its own inputs taught")
	all, err := json.Marshal(run)
	require.NoError(t, err)
	for _, s := range []string{learned, urlPass, urlUser} {
		assert.NotContains(t, string(all), s, "no secret anywhere in the run's records")
	}
}

// TestModelCallListsAreBounded is issue 16, item 11: the tool calls of a
// message and the finish reasons of a call were unbounded (50,000 tool
// calls made a 40 MB event). They are bounded like any list (MaxItems, a
// marker counting what was cut) and by the event's byte limit.
func TestModelCallListsAreBounded(t *testing.T) {
	svc, rec, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	lctx, llm := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "llm", Type: flowtrace.TypeLLM})
	calls := make([]flowtrace.ToolCall, 50_000)
	for i := range calls {
		calls[i] = flowtrace.ToolCall{ID: fmt.Sprintf("call_%d", i), Name: strings.Repeat("n", 200), Arguments: strings.Repeat("a", 600)}
	}
	reasons := make([]string, 50_000)
	for i := range reasons {
		reasons[i] = strings.Repeat("r", 300)
	}
	svc.RecordModelCall(lctx, flowtrace.ModelCall{
		Output:        []flowtrace.Message{{Role: "assistant", ToolCalls: calls}, {Role: "assistant", ToolCalls: calls}},
		FinishReasons: reasons,
	})
	llm.End(nil)
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)

	run, _ := rec.Run(runID(t, ctx))
	rs := component(t, run, "llm").ModelCalls
	require.Len(t, rs, 1)
	mc := rs[0].Call
	require.NotEmpty(t, mc.Output)
	tcs := mc.Output[0].ToolCalls
	assert.LessOrEqual(t, len(tcs), flowtrace.DefaultMaxItems+1, "tool calls of a message: at most MaxItems, and a marker")
	assert.Equal(t, "!truncated", tcs[len(tcs)-1].Name, "what was cut is counted in a last tool call")
	assert.LessOrEqual(t, len(mc.FinishReasons), flowtrace.DefaultMaxItems+1, "finish reasons: at most MaxItems, and a marker")
	assert.Contains(t, mc.FinishReasons[len(mc.FinishReasons)-1], "truncated", "what was cut is counted in a last reason")
	b, err := json.Marshal(rs[0])
	require.NoError(t, err)
	t.Logf("tool calls kept %d, finish reasons kept %d, event %d bytes", len(tcs), len(mc.FinishReasons), len(b))
	assert.LessOrEqual(t, len(b), flowtrace.DefaultMaxEventBytes+16<<10, "one model call stays within the event byte limit (markers aside)")
}

// TestTimeToFirstChunkIsNeverNegative is issue 16, item 16: a component
// whose ComponentInfo.Start lies in the future (a skewed engine clock) had
// a negative time to first chunk. It is clamped to zero.
func TestTimeToFirstChunkIsNeverNegative(t *testing.T) {
	svc, rec, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	lctx, llm := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "skewed", Type: flowtrace.TypeLLM, Start: time.Now().Add(time.Hour)})
	st := svc.StartStream(lctx)
	st.Chunk("hi")
	assert.Zero(t, st.TimeToFirstChunk(), "a first chunk before the component's start is at zero")
	svc.RecordModelCall(lctx, flowtrace.ModelCall{Model: "m"})
	svc.RecordModelCall(lctx, flowtrace.ModelCall{Model: "m", TimeToFirstChunk: -time.Second})
	llm.EndAt(nil, time.Now().Add(2*time.Hour))
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	run, _ := rec.Run(runID(t, ctx))
	for _, r := range component(t, run, "skewed").ModelCalls {
		assert.GreaterOrEqual(t, r.Call.TimeToFirstChunk, time.Duration(0), "recorded time to first chunk")
	}
}

// TestStreamTextIsRecorded is issue 16, item 8: what a Stream joined
// reached no record unless the caller copied Text itself. It is the
// output of the component's model call, recorded when the component ends
// (by its caller, by the last release of a hold, or by the run's end),
// cut by the string limit with the usual marker, masked and scrubbed.
func TestStreamTextIsRecorded(t *testing.T) {
	const learned = "sk-live-0123456789abcdef"
	svc, rec, _ := newService(t, flowtrace.WithMaxStringLen(40))
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{Metadata: map[string]any{"token": learned}})
	require.NoError(t, err)

	// Ended by its caller, after a model call without output.
	actx, a := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "ended", Type: flowtrace.TypeLLM})
	svc.RecordModelCall(actx, flowtrace.ModelCall{Model: "m", Input: []flowtrace.Message{{Role: "user", Content: "q"}}})
	svc.StartStream(actx).Chunk("hello ")
	svc.StartStream(actx).Chunk("world")
	a.End(nil)

	// Cut by the string limit; a secret of the run scrubbed.
	bctx, b := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "cut", Type: flowtrace.TypeLLM})
	st := svc.StartStream(bctx)
	st.Chunk("key: " + learned[:10]) // a secret split across chunks
	st.Chunk(learned[10:] + " and then much more")
	b.End(nil)

	// Ended by the last release of a hold, chunks arriving after End.
	hctx, h := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "held", Type: flowtrace.TypeLLM})
	release := svc.Hold(hctx)
	h.End(nil)
	svc.StartStream(hctx).Chunk("late but held")
	release()

	// The caller recorded the answer itself: no second output.
	dctx, d := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "answered", Type: flowtrace.TypeLLM})
	svc.StartStream(dctx).Chunk("abc")
	svc.RecordModelCall(dctx, flowtrace.ModelCall{Output: []flowtrace.Message{{Role: "assistant", Content: "abc", ToolCalls: []flowtrace.ToolCall{{Name: "f"}}}}})
	d.End(nil)

	// Never ended: the run's end ends it.
	fctx, _ := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "forced", Type: flowtrace.TypeLLM})
	svc.StartStream(fctx).Chunk("unfinished")

	svc.StartStream(ctx).Chunk("the run's own")
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)

	run, _ := rec.Run(runID(t, ctx))
	output := func(name string) string {
		t.Helper()
		out := component(t, run, name).ModelCall().Output
		require.Len(t, out, 1, "component %s: one output message", name)
		assert.Equal(t, "assistant", out[0].Role)
		return out[0].Content
	}
	assert.Equal(t, "hello world", output("ended"))
	mc := component(t, run, "ended").ModelCall()
	assert.Equal(t, "m", mc.Model, "merged with the call recorded before")
	assert.GreaterOrEqual(t, mc.TimeToFirstChunk, time.Duration(0))
	cut := output("cut")
	assert.Equal(t, "key: ***** and then m…(truncated 8 B)", cut, "a secret of the run scrubbed; the usual marker of a cut string")
	assert.Equal(t, "late but held", output("held"))
	assert.Len(t, component(t, run, "answered").ModelCalls, 1, "an answer recorded by the caller is not recorded twice")
	assert.Len(t, component(t, run, "answered").ModelCall().Output[0].ToolCalls, 1)
	assert.Equal(t, "unfinished", output("forced"))
	require.Len(t, run.ModelCalls, 1, "the run's own stream")
	require.Len(t, run.ModelCalls[0].Call.Output, 1)
	assert.Equal(t, "the run's own", run.ModelCalls[0].Call.Output[0].Content)
}

// TestStreamRecordedOnceWhileChunking ends components while goroutines
// still add chunks to their Streams, and ends the run while one is still
// open: each stream is recorded once, as a prefix of what was sent.
func TestStreamRecordedOnceWhileChunking(t *testing.T) {
	svc, rec, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	const writers, chunks = 4, 50
	var wg sync.WaitGroup
	for i := range 3 {
		cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: fmt.Sprint("c", i), Type: flowtrace.TypeLLM})
		st := svc.StartStream(cctx)
		st.Chunk("x") // at least one chunk before the end
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range chunks {
					st.Chunk("x")
				}
			}()
		}
		if i < 2 {
			go c.End(nil) // the third is ended by EndTracers
		}
	}
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	wg.Wait()
	run, _ := rec.Run(runID(t, ctx))
	require.Len(t, run.Components, 3)
	for _, c := range run.Components {
		require.Len(t, c.ModelCalls, 1, "component %s: its stream recorded once", c.Info.Name)
		text := c.ModelCalls[0].Call.Output[0].Content
		assert.NotEmpty(t, text)
		assert.LessOrEqual(t, len(text), 1+writers*chunks)
		assert.Equal(t, strings.Repeat("x", len(text)), text)
	}
}

// TestSecretLearntInAnEventIsScrubbedBeforeItsLabelsAreCut records labels
// that hold a secret the same event masks elsewhere (a parameter named
// api_key, an input named password), placed where the label limit cuts
// it: no part of the secret may reach an exporter.
func TestSecretLearntInAnEventIsScrubbedBeforeItsLabelsAreCut(t *testing.T) {
	const secret = "sk-live-0123456789abcdef"
	label := strings.Repeat("x", flowtrace.MaxTagLen-6) + " " + secret // the cut falls inside the secret
	svc, rec, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{
		RunID: "r", Tags: []string{label}, Inputs: map[string]any{"password": secret},
	})
	require.NoError(t, err)
	cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "llm"})
	flowtrace.RecordModelCall(cctx, flowtrace.ModelCall{
		Provider: label, Model: label, Parameters: map[string]any{"api_key": secret},
		FinishReasons: []string{label},
	})
	c.End(nil)
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	run, _ := rec.Run("r")
	mc := run.Components[0].ModelCall()
	for what, got := range map[string]string{
		"tag": run.Info.Tags[0], "provider": mc.Provider, "model": mc.Model, "finish reason": mc.FinishReasons[0],
	} {
		assert.NotContains(t, got, "sk-l", "%s: no part of the secret survives the cut: %q", what, got)
	}
}

// TestNamesAreCutAtTheStringLimit records a run, a component and a log
// with names of a megabyte: each is kept to the string limit, with the
// usual marker, rather than making a megabyte event.
func TestNamesAreCutAtTheStringLimit(t *testing.T) {
	const limit = 1024
	huge := strings.Repeat("n", 1<<20)
	svc, rec, _ := newService(t, flowtrace.WithMaxStringLen(limit))
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunID: "r", RunName: huge})
	require.NoError(t, err)
	cctx, c := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: huge, Type: huge})
	flowtrace.AddLog(cctx, flowtrace.Log{Name: huge, Type: huge, Message: "m"})
	c.End(nil)
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	run, _ := rec.Run("r")
	comp := run.Components[0]
	for what, got := range map[string]string{
		"run name": run.Info.RunName, "component name": comp.Info.Name, "component type": comp.Info.Type,
		"log name": comp.Logs[0].Name, "log type": comp.Logs[0].Type,
	} {
		assert.LessOrEqual(t, len(got), limit+len("…(truncated 1023.0 KiB)"), "%s is cut", what)
		assert.True(t, strings.HasPrefix(got, strings.Repeat("n", limit)), "%s keeps its first %d bytes", what, limit)
		assert.Contains(t, got, "…(truncated ", "%s says it was cut", what)
	}
}

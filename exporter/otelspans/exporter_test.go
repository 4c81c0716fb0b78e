package otelspans_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/otelspans"
)

func TestRunBecomesASpanTree(t *testing.T) {
	b := newBridge(t, nil, withIDs)
	svc := b.svc
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{
		RunName: "support-bot", ProjectName: "proj", SessionID: "s1", UserID: "u1",
		Metadata: map[string]any{"env": "test"},
	})
	require.NoError(t, err)
	actx, agent := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "agent", Type: "agent"})
	lctx, llm := svc.TraceComponent(actx, flowtrace.ComponentInfo{Name: "OpenAI", Type: "llm", Inputs: map[string]any{"prompt": "<b>hi</b>"}, Metadata: map[string]any{"model": "gpt"}})
	svc.AddLog(lctx, flowtrace.Log{Name: "prompt", Message: "say hi", Type: "text"})
	svc.AddLog(lctx, flowtrace.Log{Name: "usage", Message: map[string]any{"n": 3}})
	svc.SetOutputs(lctx, map[string]any{"text": "hi", "n": 1})
	svc.SetOutputs(lctx, map[string]any{"n": 2})
	llm.End(nil)
	_, tool := svc.TraceComponent(actx, flowtrace.ComponentInfo{Name: "search", Type: "tool"})
	tool.End(errors.New("search failed"))
	agent.End(nil)
	svc.AddLog(ctx, flowtrace.Log{Name: "run-log", Message: "done"})
	b.end(t, ctx, map[string]any{"answer": "hi"}, nil)

	rc, _ := flowtrace.RunFromContext(ctx)
	run, _ := b.rec.Run(rc.RunID())
	require.Len(t, b.spans.Ended(), 4)
	root, ag, model, search := b.byName(t, "support-bot"), b.byName(t, "agent"), b.byName(t, "OpenAI"), b.byName(t, "search")

	// Ids: exactly flowtrace's, with IDGenerator installed.
	assert.Equal(t, trace.TraceID(rc.TraceID()), root.SpanContext().TraceID())
	assert.Equal(t, trace.SpanID(rc.SpanID()), root.SpanContext().SpanID())
	assert.False(t, root.Parent().IsValid(), "a top-level run's span is a root")
	assert.Equal(t, root.SpanContext().SpanID(), ag.Parent().SpanID())
	assert.Equal(t, ag.SpanContext().SpanID(), model.Parent().SpanID())
	assert.Equal(t, ag.SpanContext().SpanID(), search.Parent().SpanID())
	for _, s := range b.spans.Ended() {
		assert.Equal(t, root.SpanContext().TraceID(), s.SpanContext().TraceID(), "span %s in the run's trace", s.Name())
		// Identity first, on every span.
		require.GreaterOrEqual(t, len(s.Attributes()), 3)
		assert.Equal(t, otelspans.KeyRunID, string(s.Attributes()[0].Key), "span %s", s.Name())
		assert.Equal(t, rc.RunID(), str(t, s, otelspans.KeyRunID))
		assert.Equal(t, "s1", str(t, s, otelspans.KeySessionID))
		assert.Equal(t, "u1", str(t, s, otelspans.KeyUserID))
	}
	c := run.Components[1] // OpenAI
	assert.Equal(t, trace.SpanID(c.Info.SpanID), model.SpanContext().SpanID())

	// Exact times, taken on the caller's goroutine.
	assert.True(t, run.Info.Time.Equal(root.StartTime()))
	assert.True(t, run.End.Equal(root.EndTime()))
	assert.True(t, c.Info.Time.Equal(model.StartTime()))
	assert.True(t, c.End.Equal(model.EndTime()))

	// Conventions.
	assert.Equal(t, "CHAIN", str(t, root, otelspans.KeyOISpanKind))
	assert.Equal(t, "AGENT", str(t, ag, otelspans.KeyOISpanKind))
	assert.Equal(t, "LLM", str(t, model, otelspans.KeyOISpanKind))
	assert.Equal(t, "TOOL", str(t, search, otelspans.KeyOISpanKind))
	assert.Equal(t, "support-bot", str(t, root, otelspans.KeyRunName))
	assert.Equal(t, "proj", str(t, root, otelspans.KeyProjectName))
	assert.JSONEq(t, `{"env":"test"}`, str(t, root, otelspans.KeyOIMetadata))
	assert.JSONEq(t, `{"answer":"hi"}`, str(t, root, otelspans.KeyOIOutputValue))
	assert.Equal(t, `{"prompt":"<b>hi</b>"}`, str(t, model, otelspans.KeyOIInputValue), "JSON without HTML escaping")
	assert.Equal(t, "application/json", str(t, model, otelspans.KeyOIInputMimeType))
	assert.JSONEq(t, `{"text":"hi","n":2}`, str(t, model, otelspans.KeyOIOutputValue), "outputs merged, later keys winning")
	assert.JSONEq(t, `{"model":"gpt"}`, str(t, model, otelspans.KeyOIMetadata))
	assert.Equal(t, c.Info.ComponentID, str(t, model, otelspans.KeyComponentID))
	assert.Equal(t, "llm", str(t, model, otelspans.KeyComponentType))

	// Logs are events.
	ev := model.Events()
	require.Len(t, ev, 2)
	assert.Equal(t, "prompt", ev[0].Name)
	assert.True(t, c.Logs[0].Time.Equal(ev[0].Time))
	assert.Equal(t, "say hi", ev[0].Attributes[0].Value.AsString())
	assert.Equal(t, "text", ev[0].Attributes[1].Value.AsString())
	assert.JSONEq(t, `{"n":3}`, ev[1].Attributes[0].Value.AsString())
	require.Len(t, root.Events(), 1)
	assert.Equal(t, "run-log", root.Events()[0].Name)

	// Errors.
	assert.Equal(t, codes.Error, search.Status().Code)
	assert.Equal(t, "search failed", search.Status().Description)
	require.Len(t, search.Events(), 1)
	assert.Equal(t, "exception", search.Events()[0].Name)
	assert.Equal(t, codes.Unset, model.Status().Code)
}

func TestRunErrorAndUnendedComponents(t *testing.T) {
	b := newBridge(t, nil, withIDs)
	ctx, err := b.svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	b.svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "left-open"})
	b.end(t, ctx, nil, errors.New("run failed"))
	root, open := b.byName(t, "run"), b.byName(t, "left-open")
	assert.Equal(t, codes.Error, root.Status().Code)
	assert.Equal(t, "run failed", root.Status().Description)
	assert.Equal(t, codes.Error, open.Status().Code)
	assert.Contains(t, open.Status().Description, "not ended")
	assert.Equal(t, root.SpanContext().SpanID(), open.Parent().SpanID())
}

func TestNestedRunIsInItsParentsTrace(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tpOpts []sdktrace.TracerProviderOption
	}{{"with IDGenerator", []sdktrace.TracerProviderOption{withIDs}}, {"without IDGenerator", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBridge(t, nil, tc.tpOpts...)
			outer, err := b.svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: "outer"})
			require.NoError(t, err)
			tctx, tool := b.svc.TraceComponent(outer, flowtrace.ComponentInfo{Name: "flow-tool", Type: "tool"})
			inner, err := b.svc.StartTracers(tctx, flowtrace.RunInfo{RunName: "inner"})
			require.NoError(t, err)
			_, step := b.svc.TraceComponent(inner, flowtrace.ComponentInfo{Name: "inner-step"})
			step.End(nil)
			b.end(t, inner, nil, nil)
			tool.End(nil)
			b.end(t, outer, nil, nil)

			o, tl, in, st := b.byName(t, "outer"), b.byName(t, "flow-tool"), b.byName(t, "inner"), b.byName(t, "inner-step")
			assert.Equal(t, in.SpanContext().SpanID(), st.Parent().SpanID(), "within a run the tree holds either way")
			assert.Equal(t, o.SpanContext().SpanID(), tl.Parent().SpanID())
			assert.Equal(t, o.SpanContext().TraceID(), in.SpanContext().TraceID(), "a nested run is in its parent's trace")
			if tc.tpOpts == nil {
				// The SDK picks its own ids: the bridge finds the parent's span
				// when its start has arrived, else the root run's; flowtrace
				// opens runs ahead of other runs' queued events, so either.
				assert.Contains(t, []trace.SpanID{tl.SpanContext().SpanID(), o.SpanContext().SpanID()}, in.Parent().SpanID())
				return
			}
			assert.Equal(t, tl.SpanContext().SpanID(), in.Parent().SpanID(), "its span is a child of the component that started it")
			assert.Equal(t, in.SpanContext().TraceID(), st.SpanContext().TraceID())
		})
	}
}

func TestConcurrentRunsEachGetTheirOwnTrace(t *testing.T) {
	b := newBridge(t, nil, withIDs)
	const runs = 500
	var wg sync.WaitGroup
	ids := make([]string, runs)
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, err := b.svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: fmt.Sprintf("run-%d", i)})
			if !assert.NoError(t, err) {
				return
			}
			rc, _ := flowtrace.RunFromContext(ctx)
			ids[i] = rc.RunID()
			cctx, c := b.svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: fmt.Sprintf("step-%d", i)})
			_, cc := b.svc.TraceComponent(cctx, flowtrace.ComponentInfo{Name: fmt.Sprintf("inner-%d", i)})
			b.svc.AddLog(cctx, flowtrace.Log{Name: "l"})
			cc.End(nil)
			c.End(nil)
			b.end(t, ctx, nil, nil)
		}()
	}
	wg.Wait()
	spans := b.spans.Ended()
	require.Len(t, spans, 3*runs)
	byRun := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byRun[attrs(s)[otelspans.KeyRunID].AsString()] = append(byRun[attrs(s)[otelspans.KeyRunID].AsString()], s)
	}
	require.Len(t, byRun, runs)
	traces := map[trace.TraceID]string{}
	for id, ss := range byRun {
		require.Len(t, ss, 3, "run %s", id)
		tid := ss[0].SpanContext().TraceID()
		if other, dup := traces[tid]; dup {
			t.Fatalf("runs %s and %s share trace %s", id, other, tid)
		}
		traces[tid] = id
		inRun := map[trace.SpanID]bool{}
		for _, s := range ss {
			require.Equal(t, tid, s.SpanContext().TraceID(), "run %s: every span in its own trace", id)
			inRun[s.SpanContext().SpanID()] = true
		}
		for _, s := range ss {
			if s.Parent().IsValid() {
				require.True(t, inRun[s.Parent().SpanID()], "run %s: span %s's parent is in the same run", id, s.Name())
			}
		}
	}
}

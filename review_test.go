package flowtrace_test

// Tests from an adversarial review of the newest promises (issues 16, 17).

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace"
)

// TestTagIsMaskedBeforeItIsCut: a run's tags are labels, and a label is
// masked first, then cut, "so that nothing a cut would split escapes it".
// Tags were cut to MaxTagLen first: a URL whose user info straddled the
// cut lost its "@", was no longer seen as a URL with user info, and the
// start of its password was recorded in clear.
func TestTagIsMaskedBeforeItIsCut(t *testing.T) {
	svc, rec, _ := newService(t)
	const pass = "hunter2hunter2hunter2"
	tag := strings.Repeat("x", 230) + " https://bob:" + pass + "@example.com/"
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{Tags: []string{tag, "ok"}})
	require.NoError(t, err)
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
	run, ok := rec.Run(runID(t, ctx))
	require.True(t, ok)
	require.Len(t, run.Info.Tags, 2)
	assert.NotContains(t, run.Info.Tags[0], "bob:h", "no part of the URL's password is recorded in a tag")
	assert.LessOrEqual(t, len(run.Info.Tags[0]), flowtrace.MaxTagLen, "a tag is still cut to MaxTagLen")
	assert.Equal(t, "ok", run.Info.Tags[1])
}

// TestCheckpointFromARefusedStartContinuesAnExistingSpan: the ctx of a
// refused TraceComponent (its parent had ended) carries a marker whose
// span is never delivered; as an OpenTelemetry span it is the run's.
// CheckpointFromContext gave the marker's own span ID, so a continuation
// started from it hung under a span no exporter ever saw.
func TestCheckpointFromARefusedStartContinuesAnExistingSpan(t *testing.T) {
	svc, _, _ := newService(t)
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{})
	require.NoError(t, err)
	pctx, parent := svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: "parent"})
	parent.End(nil)
	mctx, c := svc.TraceComponent(pctx, flowtrace.ComponentInfo{Name: "refused"})
	require.Nil(t, c, "a start under an ended parent is refused")

	cp, ok := flowtrace.CheckpointFromContext(mctx)
	require.True(t, ok)
	rc, _ := flowtrace.RunFromContext(ctx)
	span := rc.SpanID()
	assert.Equal(t, hex.EncodeToString(span[:]), cp.SpanID, "the checkpoint of a refused start continues under the run's span, as its OpenTelemetry span does")
	_, err = svc.EndTracers(within(t, ctx), nil, nil)
	require.NoError(t, err)
}

package flowtrace_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"

	"github.com/flowtrace/flowtrace"
)

// TestRandomFlag: W3C Trace Context Level 2's random flag says a trace ID
// is random in its right-most 7 bytes. A run knows it of a trace ID it
// generated or a caller vouched for, passes it on to nested runs and
// OpenTelemetry, and never claims it of a trace ID derived from a given
// run ID.
func TestRandomFlag(t *testing.T) {
	svc, _, _ := newService(t)
	remote := func(random bool) context.Context {
		return flowtrace.ContextWithRemoteParent(context.Background(), flowtrace.RemoteParent{
			TraceID: [16]byte{1}, SpanID: [8]byte{2}, Sampled: true, Random: random,
		})
	}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		info flowtrace.RunInfo
		want bool
	}{
		{"generated trace ID", context.Background(), flowtrace.RunInfo{}, true},
		{"trace ID from a given run ID", context.Background(), flowtrace.RunInfo{RunID: "order-42"}, false},
		{"remote caller with the flag", remote(true), flowtrace.RunInfo{}, true},
		{"remote caller without it", remote(false), flowtrace.RunInfo{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, err := svc.StartTracers(tc.ctx, tc.info)
			require.NoError(t, err)
			defer func() { _, _ = svc.EndTracers(within(t, ctx), nil, nil) }()
			rc, _ := flowtrace.RunFromContext(ctx)
			assert.Equal(t, tc.want, rc.Random(), "RunContext.Random")
			assert.Equal(t, tc.want, trace.SpanContextFromContext(ctx).IsRandom(), "the span context's random flag")

			nested, err := svc.StartTracers(ctx, flowtrace.RunInfo{RunID: "nested"})
			require.NoError(t, err)
			nrc, _ := flowtrace.RunFromContext(nested)
			assert.Equal(t, tc.want, nrc.Random(), "a nested run inherits the flag with the trace ID")
			_, _ = svc.EndTracers(within(t, nested), nil, nil)
		})
	}
}

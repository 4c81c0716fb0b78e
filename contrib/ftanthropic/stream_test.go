package ftanthropic_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/contrib/ftanthropic"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStreamParsedAcrossReadBoundaries(t *testing.T) {
	var sse bytes.Buffer
	for _, e := range streamEvents {
		sse.WriteString("event: " + e[0] + "\r\ndata: " + e[1] + "\r\n\r\n")
	}
	want := sse.Bytes()
	for name, r := range map[string]io.Reader{
		"one read":          bytes.NewReader(want),
		"one byte per read": iotest.OneByteReader(bytes.NewReader(want)),
	} {
		t.Run(name, func(t *testing.T) {
			svc, mem, _ := newService(t)
			var read []byte
			run := inRun(t, svc, mem, "s", func(ctx context.Context) {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1/v1/messages",
					strings.NewReader(`{"model":"claude-sonnet-4-5","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"Hi"}]}`))
				require.NoError(t, err)
				resp, err := ftanthropic.Middleware()(req, func(*http.Request) (*http.Response, error) {
					return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(r)}, nil
				})
				require.NoError(t, err)
				read, _ = io.ReadAll(resp.Body)
				require.NoError(t, resp.Body.Close())
			})
			assert.Equal(t, want, read, "wanted the bytes passed on unchanged")
			require.Len(t, run.Components, 1)
			assert.NoError(t, run.Components[0].Err)
			mc, _ := call(t, run, 0)
			assert.Equal(t, "Hello there!", mc.Output[0].Content)
			assert.Equal(t, flowtrace.Usage{InputTokens: 75, OutputTokens: 15, TotalTokens: 90, CacheWriteTokens: 10, CacheReadTokens: 40}, mc.Usage)
		})
	}
}

package ftopenai_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/contrib/ftopenai"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sseBytes is a chat stream as the server sends it, with CRLF line ends
// and a comment line, which the protocol allows.
func sseBytes() []byte {
	var b bytes.Buffer
	b.WriteString(": keep-alive\r\n\r\n")
	for _, e := range append(append([]string(nil), chatStream...), chunk("", streamUsage), "[DONE]") {
		b.WriteString("data: " + e + "\r\n\r\n")
	}
	return b.Bytes()
}

// streamThrough makes one streamed chat call through the middleware, with
// next answering body, in a run, reads the body as the SDK would, and
// returns what the caller read and the run's model call.
func streamThrough(t testing.TB, body io.Reader) ([]byte, flowtrace.ModelCall, error) {
	svc, mem, _ := newService(t)
	mw := ftopenai.Middleware()
	var read []byte
	var compErr error
	run := inRun(t, svc, mem, "s", func(ctx context.Context) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1/v1/chat/completions",
			strings.NewReader(`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Hi"}]}`))
		require.NoError(t, err)
		next := func(*http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
				Body: io.NopCloser(body)}, nil
		}
		resp, err := mw(req, next)
		require.NoError(t, err)
		read, _ = io.ReadAll(resp.Body)
		require.NoError(t, resp.Body.Close())
	})
	require.Len(t, run.Components, 1)
	compErr = run.Components[0].Err
	mc := run.Components[0].ModelCall()
	mc.TimeToFirstChunk = 0
	return read, mc, compErr
}

func TestStreamParsedAcrossReadBoundaries(t *testing.T) {
	want := sseBytes()
	for name, r := range map[string]io.Reader{
		"one read":          bytes.NewReader(want),
		"one byte per read": iotest.OneByteReader(bytes.NewReader(want)),
		"half per read":     iotest.HalfReader(bytes.NewReader(want)),
	} {
		t.Run(name, func(t *testing.T) {
			read, mc, err := streamThrough(t, r)
			require.NoError(t, err)
			assert.Equal(t, want, read, "wanted the bytes passed on unchanged")
			assert.Equal(t, []flowtrace.Message{{Role: "assistant", Content: "Hello there!"}}, mc.Output)
			assert.Equal(t, flowtrace.Usage{InputTokens: 9, OutputTokens: 4, TotalTokens: 13}, mc.Usage)
			assert.Equal(t, []string{"stop"}, mc.FinishReasons)
		})
	}
}

// FuzzStream checks that any stream, however malformed, reaches the
// caller byte for byte and ends its component without a panic.
func FuzzStream(f *testing.F) {
	f.Add(sseBytes(), uint8(7))
	var b bytes.Buffer
	for _, e := range responseEvents {
		b.WriteString("event: " + e[0] + "\ndata: " + e[1] + "\n\n")
	}
	f.Add(b.Bytes(), uint8(3))
	f.Add([]byte("data: {\"choices\":[{\"index\":99999,\"delta\":{\"tool_calls\":[{\"index\":-1}]}}]}\n\ndata: [DONE]"), uint8(1))
	f.Add([]byte("data: {\"error\":{\"code\":12}}\n\n"), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		var r io.Reader = bytes.NewReader(data)
		if step%2 == 1 {
			r = iotest.OneByteReader(r)
		}
		read, _, _ := streamThrough(t, r)
		if !bytes.Equal(data, read) {
			t.Fatalf("the caller read %q, wanted %q", read, data)
		}
	})
}

package ftanthropic_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
	"github.com/stretchr/testify/require"
)

// Payloads in the shapes the Messages API sends (API reference, streaming
// guide, and the SDK's tests).

const apiKey = "sk-ant-api03-TESTKEY-never-recorded"

const messageJSON = `{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",` +
	`"content":[{"type":"text","text":"Hello! How can I help?"}],"stop_reason":"end_turn","stop_sequence":null,` +
	`"usage":{"input_tokens":12,"cache_creation_input_tokens":100,"cache_read_input_tokens":200,"output_tokens":8,"service_tier":"standard"}}`

const toolJSON = `{"id":"msg_tool","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",` +
	`"content":[{"type":"thinking","thinking":"The user wants weather.","signature":"sig"},{"type":"text","text":"Let me check."},` +
	`{"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"get_weather","input":{"location": "Paris"}}],` +
	`"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":400,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":60}}`

var streamEvents = [][2]string{
	{"message_start", `{"type":"message_start","message":{"id":"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5-20250929","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":10,"cache_read_input_tokens":40,"output_tokens":1}}}`},
	{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`},
	{"ping", `{"type": "ping"}`},
	{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`},
	{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" there!"}}`},
	{"content_block_stop", `{"type":"content_block_stop","index":0}`},
	{"content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}`},
	{"content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}`},
	{"content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\":"}}`},
	{"content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" \"Paris\"}"}}`},
	{"content_block_stop", `{"type":"content_block_stop","index":1}`},
	{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":15}}`},
	{"message_stop", `{"type":"message_stop"}`},
}

const rateLimitJSON = `{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}`

const overloadedJSON = `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_2"}`

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func writeSSE(w http.ResponseWriter, events [][2]string) {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	for _, e := range events {
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e[0], e[1])
		w.(http.Flusher).Flush()
	}
}

type server struct {
	*httptest.Server
	mu      sync.Mutex
	headers []http.Header
}

func newServer(t testing.TB, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		s.headers = append(s.headers, r.Header.Clone())
		s.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) received() []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.headers)
}

func (s *server) client(opts ...option.RequestOption) anthropic.Client {
	base := []option.RequestOption{option.WithBaseURL(s.URL), option.WithAPIKey(apiKey),
		option.WithHTTPClient(s.Client()), option.WithHeader("X-Caller-Secret", "caller-header-value-never-recorded")}
	return anthropic.NewClient(append(base, opts...)...)
}

type errs struct {
	mu   sync.Mutex
	list []error
}

func (e *errs) add(err error) { e.mu.Lock(); e.list = append(e.list, err); e.mu.Unlock() }
func (e *errs) all() []error  { e.mu.Lock(); defer e.mu.Unlock(); return slices.Clone(e.list) }

func newService(t testing.TB) (*flowtrace.TraceService, *memory.Exporter, *errs) {
	t.Helper()
	mem := memory.New()
	reported := &errs{}
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(mem), flowtrace.WithErrorHandler(reported.add))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, svc.Shutdown(context.Background())) })
	return svc, mem, reported
}

func inRun(t testing.TB, svc *flowtrace.TraceService, mem *memory.Exporter, name string, f func(ctx context.Context)) memory.Run {
	t.Helper()
	ctx, err := svc.StartTracers(context.Background(), flowtrace.RunInfo{RunName: name})
	require.NoError(t, err)
	f(ctx)
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	sum, err := svc.EndTracers(dctx, nil, nil)
	require.NoError(t, err, "wanted the run to end with everything delivered")
	run, ok := mem.Run(sum.RunID)
	require.True(t, ok)
	return run
}

func call(t testing.TB, run memory.Run, i int) (flowtrace.ModelCall, time.Duration) {
	t.Helper()
	require.Greater(t, len(run.Components), i, "wanted component %d in\n%s", i, run.Tree())
	mc := run.Components[i].ModelCall()
	ttfc := mc.TimeToFirstChunk
	mc.TimeToFirstChunk = 0
	return mc, ttfc
}

func params(m map[string]any) map[string]any { return memory.Snapshot(m).(map[string]any) }

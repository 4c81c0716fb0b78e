package ftopenai_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/exporter/memory"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/require"
)

// The payloads below have the shapes the API sends (from the API reference
// and the SDK's own tests): every field the SDK decodes, and some it
// ignores.

const apiKey = "sk-proj-TESTKEY-never-recorded-0123456789"

const chatJSON = `{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741569952,` +
	`"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I assist you today?",` +
	`"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":10,` +
	`"total_tokens":29,"prompt_tokens_details":{"cached_tokens":3,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":2,` +
	`"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_fc9f1d7035"}`

const chatToolJSON = `{"id":"chatcmpl-tool1","object":"chat.completion","created":1741569952,"model":"gpt-4o-2024-08-06",` +
	`"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_abc123","type":"function",` +
	`"function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}],"refusal":null,"annotations":[]},"logprobs":null,` +
	`"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":82,"completion_tokens":17,"total_tokens":99,` +
	`"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}},"system_fingerprint":"fp_1"}`

// chunk is a chat.completion.chunk with the given choices and usage.
func chunk(choices, usage string) string {
	return `{"id":"chatcmpl-stream1","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-2024-08-06",` +
		`"system_fingerprint":"fp_44709d6fcb","choices":[` + choices + `],"usage":` + usage + `}`
}

func delta(d, finish string) string {
	return `{"index":0,"delta":` + d + `,"logprobs":null,"finish_reason":` + finish + `}`
}

const streamUsage = `{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13,"prompt_tokens_details":{"cached_tokens":0},` +
	`"completion_tokens_details":{"reasoning_tokens":0}}`

var chatStream = []string{
	chunk(delta(`{"role":"assistant","content":"","refusal":null}`, "null"), "null"),
	chunk(delta(`{"content":"Hello"}`, "null"), "null"),
	chunk(delta(`{"content":" there!"}`, "null"), "null"),
	chunk(delta(`{}`, `"stop"`), "null"),
}

var toolStream = []string{
	chunk(delta(`{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_abc123","type":"function","function":{"name":"get_weather","arguments":""}}],"refusal":null}`, "null"), "null"),
	chunk(delta(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]}`, "null"), "null"),
	chunk(delta(`{"tool_calls":[{"index":0,"function":{"arguments":"ty\":\"Paris\"}"}}]}`, "null"), "null"),
	chunk(delta(`{"tool_calls":[{"index":1,"id":"call_def456","type":"function","function":{"name":"get_time","arguments":"{}"}}]}`, "null"), "null"),
	chunk(delta(`{}`, `"tool_calls"`), "null"),
}

const responseJSON = `{"id":"resp_67ccd2bed1ec8190b14f964abc054267","object":"response","created_at":1741476542,"status":"completed",` +
	`"error":null,"incomplete_details":null,"instructions":"Be brief.","max_output_tokens":null,"model":"gpt-4.1-2025-04-14",` +
	`"output":[{"type":"message","id":"msg_67ccd2bf17f0","status":"completed","role":"assistant","content":[{"type":"output_text",` +
	`"text":"In a peaceful grove, a unicorn slept.","annotations":[]}]}],"parallel_tool_calls":true,"previous_response_id":null,` +
	`"reasoning":{"effort":null,"summary":null},"store":true,"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":"auto",` +
	`"tools":[],"top_p":1.0,"truncation":"disabled","usage":{"input_tokens":36,"input_tokens_details":{"cached_tokens":0},` +
	`"output_tokens":87,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":123},"user":null,"metadata":{}}`

const responseToolJSON = `{"id":"resp_tool","object":"response","created_at":1741476542,"status":"completed","error":null,` +
	`"incomplete_details":null,"model":"gpt-4.1-2025-04-14","output":[{"type":"function_call","id":"fc_1","call_id":"call_w1",` +
	`"name":"get_weather","arguments":"{\"city\":\"Paris\"}","status":"completed"}],"parallel_tool_calls":true,"tools":[],` +
	`"usage":{"input_tokens":50,"input_tokens_details":{"cached_tokens":10},"output_tokens":20,"output_tokens_details":{"reasoning_tokens":5},` +
	`"total_tokens":70},"metadata":{}}`

// responseEvents is a Responses API stream, as event name and data.
var responseEvents = [][2]string{
	{"response.created", `{"type":"response.created","sequence_number":0,"response":{"id":"resp_s1","object":"response","created_at":1741290958,"status":"in_progress","error":null,"incomplete_details":null,"model":"gpt-4.1-2025-04-14","output":[],"usage":null,"metadata":{}}}`},
	{"response.in_progress", `{"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_s1","object":"response","created_at":1741290958,"status":"in_progress","model":"gpt-4.1-2025-04-14","output":[],"usage":null,"metadata":{}}}`},
	{"response.output_item.added", `{"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"msg_s1","type":"message","status":"in_progress","role":"assistant","content":[]}}`},
	{"response.content_part.added", `{"type":"response.content_part.added","sequence_number":3,"item_id":"msg_s1","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}}`},
	{"response.output_text.delta", `{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_s1","output_index":0,"content_index":0,"delta":"Hi","logprobs":[]}`},
	{"response.output_text.delta", `{"type":"response.output_text.delta","sequence_number":5,"item_id":"msg_s1","output_index":0,"content_index":0,"delta":" there","logprobs":[]}`},
	{"response.output_text.done", `{"type":"response.output_text.done","sequence_number":6,"item_id":"msg_s1","output_index":0,"content_index":0,"text":"Hi there","logprobs":[]}`},
	{"response.content_part.done", `{"type":"response.content_part.done","sequence_number":7,"item_id":"msg_s1","output_index":0,"content_index":0,"part":{"type":"output_text","text":"Hi there","annotations":[]}}`},
	{"response.output_item.done", `{"type":"response.output_item.done","sequence_number":8,"output_index":0,"item":{"id":"msg_s1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hi there","annotations":[]}]}}`},
	{"response.completed", `{"type":"response.completed","sequence_number":9,"response":{"id":"resp_s1","object":"response","created_at":1741290958,"status":"completed","error":null,"incomplete_details":null,"model":"gpt-4.1-2025-04-14","output":[{"id":"msg_s1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hi there","annotations":[]}]}],"usage":{"input_tokens":37,"input_tokens_details":{"cached_tokens":0},"output_tokens":11,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":48},"metadata":{}}}`},
}

const embeddingJSON = `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.0023064255,-0.009327292,0.015797347]},` +
	`{"object":"embedding","index":1,"embedding":[0.0123,-0.0456,0.0789]}],"model":"text-embedding-3-small",` +
	`"usage":{"prompt_tokens":8,"total_tokens":8}}`

const rateLimitJSON = `{"error":{"message":"Rate limit reached for gpt-4o in organization org-x on requests per min (RPM).",` +
	`"type":"requests","param":null,"code":"rate_limit_exceeded"}}`

const serverErrorJSON = `{"error":{"message":"The server had an error while processing your request. Sorry about that!",` +
	`"type":"server_error","param":null,"code":null}}`

// writeJSON answers with a JSON body and status.
func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// writeSSE starts an event stream and writes each event, flushing each.
// An event is "name\x00data" or data alone.
func writeSSE(w http.ResponseWriter, events ...string) {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	for _, e := range events {
		if name, data, ok := cut0(e); ok {
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data)
		} else {
			fmt.Fprintf(w, "data: %s\n\n", e)
		}
		w.(http.Flusher).Flush()
	}
}

func cut0(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == 0 {
			return s[:i], s[i+1:], true
		}
	}
	return "", s, false
}

func named(evs [][2]string) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e[0] + "\x00" + e[1]
	}
	return out
}

// server is a fake API on 127.0.0.1. It keeps the bodies and headers of
// the requests it received, in order.
type server struct {
	*httptest.Server
	mu      sync.Mutex
	bodies  []map[string]any
	headers []http.Header
}

func newServer(t testing.TB, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		s.mu.Lock()
		s.bodies = append(s.bodies, m)
		s.headers = append(s.headers, r.Header.Clone())
		s.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) requests() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.bodies)
}

// client returns an SDK client of s with the middleware and opts.
func (s *server) client(mw option.Middleware, opts ...option.RequestOption) openai.Client {
	base := []option.RequestOption{option.WithBaseURL(s.URL + "/v1/"), option.WithAPIKey(apiKey),
		option.WithHTTPClient(s.Client()), option.WithHeader("X-Caller-Secret", "caller-header-value-never-recorded")}
	if mw != nil {
		base = append(base, option.WithMiddleware(mw))
	}
	return openai.NewClient(append(base, opts...)...)
}

// errs collects what the service reports to its error handler.
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

// inRun runs f in a new run named name and returns the run as recorded.
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
	require.True(t, ok, "wanted run %s recorded", sum.RunID)
	return run
}

// call returns the merged model call of component i of run, with its time
// to first chunk, which is set to 0 in the call returned.
func call(t testing.TB, run memory.Run, i int) (flowtrace.ModelCall, time.Duration) {
	t.Helper()
	require.Greater(t, len(run.Components), i, "wanted component %d in\n%s", i, run.Tree())
	mc := run.Components[i].ModelCall()
	ttfc := mc.TimeToFirstChunk
	mc.TimeToFirstChunk = 0
	return mc, ttfc
}

// params is the snapshot of invocation parameters, as recorded.
func params(m map[string]any) map[string]any { return memory.Snapshot(m).(map[string]any) }

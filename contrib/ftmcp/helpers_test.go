package ftmcp_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/contrib/ftmcp"
	"github.com/flowtrace/flowtrace/contrib/ftmcp/internal/toolserver"
	"github.com/flowtrace/flowtrace/exporter/memory"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"
)

// deadline bounds every wait of the tests: on delivery, on a session's end.
const deadline = 30 * time.Second

func waitCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	t.Cleanup(cancel)
	return ctx
}

// errs collects what a service reports to its error handler.
type errs struct {
	mu   sync.Mutex
	list []error
}

func (e *errs) add(err error) { e.mu.Lock(); e.list = append(e.list, err); e.mu.Unlock() }

func (e *errs) all() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]error(nil), e.list...)
}

// side is one side of a test: a service recording into memory.
type side struct {
	svc      *flowtrace.TraceService
	mem      *memory.Exporter
	reported *errs
}

// newSide returns a service recording into memory, shut down (delivery
// awaited) at the end of the test, with no error reported.
func newSide(t testing.TB, opts ...flowtrace.Option) *side {
	t.Helper()
	s := &side{mem: memory.New(), reported: &errs{}}
	opts = append(opts, flowtrace.WithExporter(s.mem), flowtrace.WithErrorHandler(s.reported.add))
	svc, err := flowtrace.NewTraceService(opts...)
	require.NoError(t, err)
	s.svc = svc
	t.Cleanup(func() {
		require.NoError(t, svc.Shutdown(context.Background()))
		require.Empty(t, s.reported.all(), "no error reported to the handler")
	})
	return s
}

// shutdown waits until every run of the side is delivered.
func (s *side) shutdown(t testing.TB) {
	t.Helper()
	require.NoError(t, s.svc.Shutdown(waitCtx(t)), "delivery completes by the deadline")
}

// connectInMemory connects a client with the given middleware (none when
// agent is nil) to the toolserver traced by tools, over in-memory
// transports. The session is closed, and the server's end awaited, at the
// end of the test (or by the returned close, which may be called first).
func connectInMemory(t testing.TB, agent *side, tools *flowtrace.TraceService) (*mcp.ClientSession, func()) {
	t.Helper()
	ctx := waitCtx(t)
	server := toolserver.New(tools)
	client := mcp.NewClient(&mcp.Implementation{Name: "agent", Version: "v1"}, nil)
	if agent != nil {
		client.AddSendingMiddleware(ftmcp.ClientMiddleware(agent.svc))
	}
	ct, st := mcp.NewInMemoryTransports()
	ss, err := server.Connect(ctx, st, nil)
	require.NoError(t, err)
	cs, err := client.Connect(ctx, ct, nil)
	require.NoError(t, err)
	var once sync.Once
	closeAll := func() {
		once.Do(func() {
			require.NoError(t, cs.Close())
			_ = ss.Wait()
		})
	}
	t.Cleanup(closeAll)
	return cs, closeAll
}

// span is a span ID as hex, as jsonl writes it.
func span(id [8]byte) string {
	if id == [8]byte{} {
		return ""
	}
	return hex.EncodeToString(id[:])
}

func traceHex(id [16]byte) string { return hex.EncodeToString(id[:]) }

// jsonValue returns v as JSON decodes it (numbers as float64, objects as
// map[string]any), so that values kept by memory and read from jsonl
// compare alike.
func jsonValue(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

func jsonMap(t testing.TB, v any) map[string]any {
	t.Helper()
	if v == nil {
		return nil
	}
	m, _ := jsonValue(t, v).(map[string]any)
	return m
}

// view is a run as the tests compare it, whichever exporter recorded it.
type view struct {
	RunID, ParentRunID, Name      string
	TraceID, SpanID, ParentSpanID string
	Inputs, Metadata, Outputs     map[string]any
	Err                           string
	Components                    []compView
}

type compView struct {
	ID, ParentID, Name, Type  string
	SpanID, ParentSpanID      string
	Inputs, Metadata, Outputs map[string]any
	Err                       string
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// viewOf returns the memory run as a view.
func viewOf(t testing.TB, r memory.Run) view {
	t.Helper()
	require.True(t, r.Ended, "run %s ended", r.Info.RunID)
	v := view{
		RunID: r.Info.RunID, ParentRunID: r.Info.ParentRunID, Name: r.Info.RunName,
		TraceID: traceHex(r.Info.TraceID), SpanID: span(r.Info.SpanID), ParentSpanID: span(r.Info.ParentSpanID),
		Inputs: jsonMap(t, r.Inputs), Metadata: jsonMap(t, r.Info.Metadata.Map()), Outputs: jsonMap(t, r.Outputs),
		Err: errText(r.Err),
	}
	for _, c := range r.Components {
		require.True(t, c.Ended, "component %s ended", c.Info.Name)
		require.Empty(t, c.Logs, "component %s has no logs", c.Info.Name)
		v.Components = append(v.Components, compView{
			ID: c.Info.ComponentID, ParentID: c.Info.ParentID, Name: c.Info.Name, Type: c.Info.Type,
			SpanID: span(c.Info.SpanID), ParentSpanID: span(c.Info.ParentSpanID),
			Inputs: jsonMap(t, c.Inputs), Metadata: jsonMap(t, c.Info.Metadata.Map()), Outputs: jsonMap(t, c.Outputs),
			Err: errText(c.Err),
		})
	}
	return v
}

// shape is a view without its identifiers, to compare with what a test
// expects; the identifiers are checked as relations.
func (v view) shape() view {
	v.RunID, v.ParentRunID, v.TraceID, v.SpanID, v.ParentSpanID = "", "", "", "", ""
	v.Components = append([]compView(nil), v.Components...)
	for i := range v.Components {
		c := &v.Components[i]
		c.ID, c.ParentID, c.SpanID, c.ParentSpanID = "", "", "", ""
	}
	return v
}

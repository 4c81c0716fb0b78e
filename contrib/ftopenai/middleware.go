package ftopenai

import (
	"bytes"
	"context"
	"io"
	"mime"
	"net/http"

	"github.com/flowtrace/flowtrace"
	"github.com/openai/openai-go/v3/option"
	"github.com/tidwall/sjson"
)

// Middleware returns an openai-go middleware that records each call to
// the Chat Completions, Responses and Embeddings APIs made in a ctx that
// carries a flowtrace run as a component of the scope ctx carries, with
// its flowtrace.ModelCall. Any other request, and any request in a ctx
// without a run (or in an unsampled run), is passed on untouched, and the
// middleware allocates nothing for it.
//
// It is safe for concurrent use and keeps no state between calls: one
// middleware serves every client and run of the process. Each attempt the
// SDK makes (its retries included) passes through it and is a component
// of its own.
func Middleware(opts ...Option) option.Middleware {
	cfg := newConfig(opts)
	return func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		if req.Method != http.MethodPost {
			return next(req)
		}
		op := operationOf(req.URL.Path)
		if op == opNone {
			return next(req)
		}
		if rc, ok := flowtrace.RunFromContext(req.Context()); !ok || !rc.Sampled() {
			return next(req)
		}
		return cfg.record(req, next, op)
	}
}

// call is one attempt being recorded: its component, and what it
// answered so far.
type call struct {
	ctx    context.Context // the component's
	comp   *flowtrace.Component
	stream *flowtrace.Stream // a streamed answer's
	ans    answer
}

// record makes the request of one attempt, as a component.
func (cfg config) record(req *http.Request, next option.MiddlewareNext, op operation) (*http.Response, error) {
	body, req, err := readBody(req)
	if err != nil {
		return nil, err
	}
	r := parseRequest(op, body)
	if cfg.streamUsage && op == opChat && r.stream && !r.includeUsage {
		if nb, err := sjson.SetBytes(body, "stream_options.include_usage", true); err == nil {
			req = withBody(req, nb)
		}
	}
	typ := flowtrace.TypeLLM
	if op == opEmbeddings {
		typ = flowtrace.TypeEmbedding
	}
	name := op.name()
	if r.model != "" {
		name += " " + r.model
	}
	ctx, comp := flowtrace.TraceComponent(req.Context(), flowtrace.ComponentInfo{Name: name, Type: typ, Inputs: r.inputs})
	if comp == nil {
		return next(req)
	}
	c := &call{ctx: ctx, comp: comp}
	flowtrace.RecordModelCall(ctx, flowtrace.ModelCall{Model: r.model, Provider: "openai", Parameters: r.params, Input: r.input})

	// The request carries the component's ctx, so that an HTTP client that
	// propagates trace context names this component as the parent.
	resp, err := next(req.WithContext(ctx))
	if err != nil {
		c.end(err)
		return resp, err
	}
	if resp.StatusCode >= 400 {
		b, rerr := rereadBody(resp)
		if rerr != nil {
			c.end(rerr)
			return resp, nil
		}
		c.end(parseError(resp.StatusCode, b))
		return resp, nil
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/event-stream" && resp.Body != nil {
		c.stream = flowtrace.StartStream(ctx)
		resp.Body = newStreamBody(resp.Body, c, streamAcc{op: op, stream: c.stream})
		return resp, nil
	}
	b, rerr := rereadBody(resp)
	if rerr != nil {
		c.end(rerr)
		return resp, nil
	}
	c.ans = parseAnswer(op, b)
	c.end(c.ans.err)
	return resp, nil
}

// end records what the call answered and ends its component with err.
// A nil *call does nothing.
func (c *call) end(err error) {
	if c == nil {
		return
	}
	a := &c.ans
	mc := flowtrace.ModelCall{
		Output: a.output, Usage: a.usage, FinishReasons: a.finish, TimeToFirstChunk: c.stream.TimeToFirstChunk(),
		ResponseID: a.id, ResponseModel: a.model, Stream: c.stream != nil,
	}
	if mc.Output != nil || mc.Usage != (flowtrace.Usage{}) || mc.FinishReasons != nil || mc.TimeToFirstChunk != 0 ||
		mc.ResponseID != "" || mc.ResponseModel != "" {
		flowtrace.RecordModelCall(c.ctx, mc)
	}
	if a.count > 0 {
		flowtrace.SetOutputs(c.ctx, map[string]any{"embeddings": a.count})
	}
	c.comp.End(err)
}

// readBody returns the request's body, and a request whose body is
// still unread: a fresh copy from GetBody (which the SDK sets) when there
// is one, else the bytes read, restored.
func readBody(req *http.Request) ([]byte, *http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, req, nil
	}
	if req.GetBody != nil {
		rc, err := req.GetBody()
		if err == nil {
			b, err := io.ReadAll(rc)
			_ = rc.Close()
			if err == nil {
				return b, req, nil
			}
		}
	}
	b, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, nil, err
	}
	return b, withBody(req, b), nil
}

// withBody returns a shallow copy of req whose body is b.
func withBody(req *http.Request, b []byte) *http.Request {
	r := *req
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	r.ContentLength = int64(len(b))
	return &r
}

// rereadBody reads a whole (not streamed) response body, which the SDK
// reads whole too, and puts the bytes back for it.
func rereadBody(resp *http.Response) ([]byte, error) {
	if resp.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil { // the SDK sees the same failure, after what did arrive
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), failing{err}))
		return b, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return b, nil
}

// failing is a reader that fails with its error.
type failing struct{ err error }

func (f failing) Read([]byte) (int, error) { return 0, f.err }

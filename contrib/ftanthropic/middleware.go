package ftanthropic

import (
	"bytes"
	"context"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/flowtrace/flowtrace"
)

// Middleware returns an anthropic-sdk-go middleware that records each call
// to the Messages API (POST …/messages) made in a ctx that carries a
// flowtrace run as a component of the scope ctx carries, with its
// flowtrace.ModelCall. Any other request, and any request in a ctx without
// a run (or in an unsampled run), is passed on untouched, and the
// middleware allocates nothing for it.
//
// It is safe for concurrent use and keeps no state between calls. Each
// attempt the SDK makes (its retries included) is a component of its own.
// See RequestOptions to turn off the SDK's own spans.
func Middleware(opts ...Option) option.Middleware {
	_ = newConfig(opts)
	return func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		if req.Method != http.MethodPost || !strings.HasSuffix(strings.TrimSuffix(req.URL.Path, "/"), "/messages") {
			return next(req)
		}
		if rc, ok := flowtrace.RunFromContext(req.Context()); !ok || !rc.Sampled() {
			return next(req)
		}
		return record(req, next)
	}
}

// call is one attempt being recorded.
type call struct {
	ctx    context.Context // the component's
	comp   *flowtrace.Component
	stream *flowtrace.Stream
	ans    answer
}

func record(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
	body, req, err := readBody(req)
	if err != nil {
		return nil, err
	}
	r := parseRequest(body)
	name := "chat"
	if r.model != "" {
		name += " " + r.model
	}
	ctx, comp := flowtrace.TraceComponent(req.Context(), flowtrace.ComponentInfo{Name: name, Type: flowtrace.TypeLLM})
	if comp == nil {
		return next(req)
	}
	c := &call{ctx: ctx, comp: comp}
	flowtrace.RecordModelCall(ctx, flowtrace.ModelCall{Model: r.model, Provider: "anthropic", Parameters: r.params, Input: r.input})

	resp, err := next(req.WithContext(ctx))
	if err != nil {
		c.end(err)
		return resp, err
	}
	if resp.StatusCode >= 400 {
		b, rerr := rereadBody(resp)
		if rerr != nil {
			c.end(rerr)
		} else {
			c.end(parseError(resp.StatusCode, b))
		}
		return resp, nil
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/event-stream" && resp.Body != nil {
		c.stream = flowtrace.StartStream(ctx)
		resp.Body = newStreamBody(resp.Body, c, streamAcc{stream: c.stream})
		return resp, nil
	}
	b, rerr := rereadBody(resp)
	if rerr != nil {
		c.end(rerr)
		return resp, nil
	}
	c.ans = parseAnswer(b)
	c.end(c.ans.err)
	return resp, nil
}

// end records what the call answered and ends its component with err.
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
	c.comp.End(err)
}

// readBody returns the request's body, and a request whose body is still
// unread.
func readBody(req *http.Request) ([]byte, *http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, req, nil
	}
	if req.GetBody != nil {
		if rc, err := req.GetBody(); err == nil {
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
	r := *req
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return b, &r, nil
}

// rereadBody reads a whole response body, which the SDK reads whole too,
// and puts the bytes back for it (and the read error after them).
func rereadBody(resp *http.Response) ([]byte, error) {
	if resp.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), failing{err}))
		return b, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return b, nil
}

type failing struct{ err error }

func (f failing) Read([]byte) (int, error) { return 0, f.err }

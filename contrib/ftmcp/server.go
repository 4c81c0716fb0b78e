package ftmcp

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/flowtrace/flowtrace"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// EndTimeout bounds how long a response waits, after its handler
// returned, for the records of the request's run to be delivered to svc's
// exporters. Healthy exporters take microseconds; a slow or hanging one
// delays each response by at most this much. Past it the run is still
// ended, and its records are delivered (or counted as failed) in the
// background; Shutdown waits for them.
const EndTimeout = 100 * time.Millisecond

// ServerMiddleware returns middleware for (*mcp.Server).AddReceivingMiddleware
// that serves each request the server receives inside a run of svc, ended
// when the handler returns. The handler's ctx carries the run, so what the
// tool records with flowtrace's package-level functions (TraceComponent,
// AddLog, SetOutputs...) lands in it.
//
// When the request's params._meta carries a valid traceparent (and, from a
// flowtrace client, baggage naming its run), the run continues the
// caller's: its own run ID, the caller's run ID as ParentRunID, the
// caller's trace ID, its span a child of the client's component for the
// request, and the caller's sampling decision. _meta is untrusted input:
// a trace context key holding anything but a string, or longer than
// MaxMetaValueLen, or a malformed traceparent, and the run starts a fresh
// trace; malformed baggage alone is ignored, the trace still continued.
// Nothing in _meta can make the middleware panic.
//
// The run is named, described and ended as ClientMiddleware's component
// is: the same name, inputs, metadata (the session ID is the server's),
// outputs and error; its network.transport is "tcp" for a request that
// came over HTTP (it has a header), "pipe" for any other. Notifications are not traced: they have no response,
// and are no unit of work. Neither are initialize, server/discover and ping, unless their
// _meta names a caller: they are the protocol's handshake and keep-alive,
// and a run for each would bury the runs of real work. Every other request
// (one with an ID) is a run.
//
// The run is ended before the response is sent, waiting at most EndTimeout
// for its delivery, whatever became of the request's ctx. Tracing never
// fails a request: if svc cannot start a run (after Shutdown, say), the
// request is served untraced. A panic in the handler is recorded as the
// run's error, wrapping ErrHandlerPanic, and goes on.
//
// The middleware is safe for concurrent use. A nil svc serves untraced.
func ServerMiddleware(svc *flowtrace.TraceService) mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if svc == nil || strings.HasPrefix(method, notificationPrefix) {
				return next(ctx, method, req)
			}
			p := paramsOf(req)
			pctx, remote := extractMeta(ctx, metaOf(p))
			if !remote && handshake(method) {
				return next(ctx, method, req)
			}
			var (
				session mcp.Session
				extra   *mcp.RequestExtra
			)
			if req != nil {
				session, extra = req.GetSession(), req.GetExtra()
			}
			d := describe(method, p, session, extra, false)
			rctx, err := svc.StartTracers(pctx, flowtrace.RunInfo{
				RunName: d.name, Inputs: d.inputs, Metadata: d.metadata,
			})
			if err != nil {
				return next(ctx, method, req)
			}
			var (
				res    mcp.Result
				resErr error
				ended  bool
			)
			defer func() {
				if ended {
					return
				}
				v := recover()
				endRun(svc, rctx, nil, fmt.Errorf("%w: %v", ErrHandlerPanic, v))
				if v != nil {
					panic(v)
				}
			}()
			res, resErr = next(rctx, method, req)
			ended = true
			out, runErr := resultOf(res, resErr)
			endRun(svc, rctx, out, runErr)
			return res, resErr
		}
	}
}

// handshake reports whether method is one of the protocol's handshake
// and keep-alive requests, which are traced only when the caller asks.
func handshake(method string) bool {
	return method == methodInitialize || method == methodDiscover || method == methodPing
}

// endRun ends the run of rctx, waiting at most EndTimeout for delivery
// whether or not the request's ctx is done.
func endRun(svc *flowtrace.TraceService, rctx context.Context, out map[string]any, err error) {
	ectx, cancel := context.WithTimeout(context.WithoutCancel(rctx), EndTimeout)
	defer cancel()
	_, _ = svc.EndTracers(ectx, out, err)
}

package ftmcp

import (
	"context"
	"strings"

	"github.com/flowtrace/flowtrace"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ClientMiddleware returns middleware for (*mcp.Client).AddSendingMiddleware
// that records each request the client sends inside a run of svc as a
// component of the scope its ctx carries, and names that component to the
// server in the request's params._meta.
//
// The component is named after the method, and for tools/call and
// prompts/get also the tool or prompt ("tools/call get_weather"). A
// tools/call is a flowtrace.TypeTool, a prompts/get a flowtrace.TypePrompt,
// any other request TypeMCP. Its inputs are the call's arguments (for
// tools/call and prompts/get) or its params (for the others, without
// _meta); its outputs the result, without _meta; its error the call's
// error (a JSON-RPC error, say), or for a tool result with isError set an
// error wrapping ErrToolError with the result's text. Like every value
// flowtrace records, they are snapshotted and masked. Its metadata holds
// the semantic-convention keys (KeyMethodName and the others; see the
// package documentation). network.transport is inferred, as the SDK does
// not say: "tcp" for a session with an ID (HTTP transports give one),
// "pipe" for one without (stdio, in-memory), so that a session with a
// stateless HTTP server, which has no ID, is recorded as "pipe".
//
// The request is sent with the traceparent, baggage and (when the run has
// one) tracestate of the component in params._meta, so that a server
// using ServerMiddleware continues the run. Other _meta keys are kept; so
// are the caller's baggage members. The caller's request and params are
// never modified: the request sent is a copy.
//
// Notifications, and requests sent with a ctx outside any run, go through
// untouched. An unsampled run records nothing, but its requests still
// carry its trace context, so that the server does not record either.
//
// The middleware is safe for concurrent use. A nil svc records nothing;
// requests sent in a run still carry it.
func ClientMiddleware(svc *flowtrace.TraceService) mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if strings.HasPrefix(method, notificationPrefix) {
				return next(ctx, method, req)
			}
			if _, ok := flowtrace.RunFromContext(ctx); !ok {
				return next(ctx, method, req)
			}
			var session mcp.Session
			if req != nil {
				session = req.GetSession()
			}
			p := paramsOf(req)
			d := describe(method, p, session, nil, true)
			cctx, comp := svc.TraceComponent(ctx, flowtrace.ComponentInfo{
				Name: d.name, Type: d.typ, Inputs: d.inputs, Metadata: d.metadata,
			})
			if meta := injectMeta(cctx, metaOf(p)); meta != nil {
				if r, ok := withMeta(req, meta); ok {
					req = r
				}
			}
			res, err := next(cctx, method, req)
			out, rerr := resultOf(res, err)
			if len(out) > 0 {
				svc.SetOutputs(cctx, out)
			}
			comp.End(rerr)
			return res, err
		}
	}
}

// Package ftmcp carries flowtrace runs across the Model Context Protocol,
// with the official Go SDK (github.com/modelcontextprotocol/go-sdk): an
// agent's run and the runs of the tool servers it calls form one trace,
// over any transport: stdio, which has no headers, included.
//
// # Usage
//
// On the client, each request sent with a ctx inside a run becomes a
// component of that run and carries it to the server:
//
//	client := mcp.NewClient(impl, nil)
//	client.AddSendingMiddleware(ftmcp.ClientMiddleware(svc))
//	ctx, _ = svc.StartTracers(ctx, flowtrace.RunInfo{RunName: "agent"})
//	res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "get_weather", Arguments: args})
//
// On the server, each request is served inside a run that continues the
// caller's; the tool records through its ctx:
//
//	server := mcp.NewServer(impl, nil)
//	server.AddReceivingMiddleware(ftmcp.ServerMiddleware(svc))
//
// # The wire
//
// The MCP specification (SEP-414) reserves the keys traceparent, tracestate
// and baggage of a request's params._meta for trace context: stdio has no
// headers, so _meta is how a run crosses to a tool server. Their values are
// the W3C Trace Context and Baggage headers', written and read by package
// tracing (Inject and Extract) with its rules: traceparent names the
// client's component for the request, baggage the client's run ID
// (flowtrace.run.id). The client keeps the caller's other _meta keys and
// baggage members, and never modifies the caller's params; the server
// treats _meta as untrusted (see ServerMiddleware).
//
// # What is traced
//
// Requests, on both sides; notifications are not, having no response and
// no work of their own. On the server, initialize, server/discover and
// ping start a run only when their _meta names a caller: they are the
// protocol's handshake and keep-alive. A request and its run are named
// after the method, and for tools/call and prompts/get the tool or prompt:
// "tools/call get_weather". A tools/call is a flowtrace.TypeTool, a
// prompts/get a flowtrace.TypePrompt, other requests TypeMCP. Inputs are
// the call's arguments (or for other requests their params); outputs the
// result without the protocol's _meta and resultType; the error is the
// call's (a JSON-RPC error), or for a tool result with isError set one
// wrapping ErrToolError. All of it is snapshotted and masked like any
// value flowtrace records.
//
// # Metadata
//
// The component (client) and the run (server) hold, in their metadata,
// the OpenTelemetry semantic-convention keys for MCP:
//
//	mcp.method.name         the method: "tools/call"
//	gen_ai.tool.name        the tool, on tools/call
//	gen_ai.operation.name   "execute_tool", on tools/call
//	mcp.session.id          the session's ID, when it has one (HTTP transports)
//	network.transport       "tcp" for HTTP transports, "pipe" for stdio and in-memory
//
// jsonrpc.request.id is not recorded: the SDK (v1.8.0) keeps a request's
// ID to itself, out of reach of middleware. The SDK does not say which
// transport a session uses either; network.transport is inferred (see
// ServerMiddleware and ClientMiddleware).
//
// # Ending a server run
//
// A server run ends before its response is sent, waiting at most
// EndTimeout for its records to be delivered, so that a slow exporter
// delays a response by at most that much; its records are still
// delivered, or counted, afterwards. A process serving MCP should call
// svc.Shutdown before it exits, as internal/testserver does, to wait for
// them.
package ftmcp

package ftmcp

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/flowtrace/flowtrace"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Metadata keys recorded on each traced request: the OpenTelemetry
// semantic conventions for MCP (and GenAI, for tools). They go into the
// component's metadata on the client and the run's metadata on the server.
const (
	KeyMethodName    = "mcp.method.name"
	KeyToolName      = "gen_ai.tool.name"
	KeyOperationName = "gen_ai.operation.name"
	KeySessionID     = "mcp.session.id"
	KeyTransport     = "network.transport"
)

// OperationExecuteTool is the gen_ai.operation.name of a tools/call.
const OperationExecuteTool = "execute_tool"

// TypeMCP is the component type of a request other than tools/call (a
// flowtrace.TypeTool) and prompts/get (a flowtrace.TypePrompt).
const TypeMCP = "mcp"

// ErrToolError is the error of a tools/call whose result has isError set:
// the tool ran and failed. The recorded error wraps it, with the text
// content of the result as its message.
var ErrToolError = errors.New("ftmcp: tool returned an error")

// ErrHandlerPanic is the error of a server run whose handler panicked (or
// whose goroutine was ended by runtime.Goexit); the panic goes on.
var ErrHandlerPanic = errors.New("ftmcp: handler panicked")

const (
	methodCallTool     = "tools/call"
	methodGetPrompt    = "prompts/get"
	methodInitialize   = "initialize"
	methodPing         = "ping"
	methodDiscover     = "server/discover"
	notificationPrefix = "notifications/"
	maxNameLen         = 256
)

// request is what is recorded of a request: its name, type, inputs and
// metadata.
type request struct {
	name, typ string
	inputs    map[string]any
	metadata  map[string]any
}

// describe describes the request of method with params p, sent or received
// in session s (client is true for a request the client sends).
func describe(method string, p mcp.Params, s mcp.Session, extra *mcp.RequestExtra, client bool) request {
	r := request{name: cut(method), typ: TypeMCP}
	tree := paramsTree(p)
	target, _ := tree["name"].(string)
	target = cut(target)
	r.metadata = map[string]any{KeyMethodName: method}
	switch method {
	case methodCallTool:
		r.typ = flowtrace.TypeTool
		if target != "" {
			r.metadata[KeyToolName] = target
		}
		r.metadata[KeyOperationName] = OperationExecuteTool
		r.inputs = argumentsOf(tree)
	case methodGetPrompt:
		r.typ = flowtrace.TypePrompt
		r.inputs = argumentsOf(tree)
	default:
		if len(tree) > 0 {
			r.inputs = tree
		}
	}
	if target != "" && (method == methodCallTool || method == methodGetPrompt) {
		r.name = cut(method + " " + target)
	}
	if id := sessionID(s); id != "" {
		r.metadata[KeySessionID] = id
	}
	r.metadata[KeyTransport] = transportOf(s, extra, client)
	return r
}

// sessionID returns the ID of s, "" for none or a nil session.
func sessionID(s mcp.Session) string {
	if s == nil || isNilPointer(s) {
		return ""
	}
	return s.ID()
}

// transportOf guesses the session's network.transport, as the SDK does not
// say which transport a session uses: an HTTP transport (streamable or
// SSE) is "tcp", stdio and in-memory transports are "pipe". A server knows
// an HTTP request by its header; a client knows only that an HTTP session
// has an ID, so a client of a stateless HTTP server, which has none, is
// reported as "pipe".
func transportOf(s mcp.Session, extra *mcp.RequestExtra, client bool) string {
	if client {
		if sessionID(s) != "" {
			return "tcp"
		}
		return "pipe"
	}
	if extra != nil && extra.Header != nil {
		return "tcp"
	}
	return "pipe"
}

// argumentsOf returns the arguments of a tools/call or prompts/get as
// inputs: the arguments object itself, or {"arguments": v} when they are
// not an object.
func argumentsOf(tree map[string]any) map[string]any {
	args, present := tree["arguments"]
	if !present || args == nil {
		return nil
	}
	if m, ok := args.(map[string]any); ok {
		return m
	}
	return map[string]any{"arguments": args}
}

// paramsTree returns p as the JSON object it is sent as, without _meta:
// the SDK's params hold their arguments either decoded (client side) or
// raw (server side), and a JSON tree is the one form both take. It returns
// nil for no params, or params that do not encode.
func paramsTree(p mcp.Params) map[string]any {
	if p == nil {
		return nil
	}
	return jsonTree(p)
}

// jsonTree returns v encoded and decoded as a JSON object, without its
// _meta, or nil.
func jsonTree(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	delete(m, "_meta")
	return m
}

// resultOf returns what a request's outcome records: the result as
// outputs, and the error: the call's own (a JSON-RPC error, a transport
// failure), or, for a tool result with isError set, one wrapping
// ErrToolError.
func resultOf(res mcp.Result, err error) (map[string]any, error) {
	if err != nil {
		return nil, err
	}
	if res == nil {
		return nil, nil
	}
	if r, ok := res.(*mcp.CallToolResult); ok {
		if r == nil {
			return nil, nil
		}
		out := resultTree(r)
		delete(out, "isError")
		if r.IsError {
			return out, toolError(r)
		}
		return out, nil
	}
	return resultTree(res), nil
}

// resultTree returns a result as outputs: its JSON object without the
// protocol's bookkeeping (_meta; resultType, which says whether a
// multi-round-trip call is complete).
func resultTree(res mcp.Result) map[string]any {
	out := jsonTree(res)
	delete(out, "resultType")
	return out
}

// toolError returns the error of a tool result with isError set: the
// handler's own when the server made the result (CallToolResult.GetError),
// else the text of its content.
func toolError(r *mcp.CallToolResult) error {
	if err := r.GetError(); err != nil {
		return fmt.Errorf("%w: %w", ErrToolError, err)
	}
	var texts []string
	for _, c := range r.Content {
		if t, ok := c.(*mcp.TextContent); ok && t != nil {
			texts = append(texts, t.Text)
		}
	}
	if len(texts) == 0 {
		return ErrToolError
	}
	return fmt.Errorf("%w: %s", ErrToolError, strings.Join(texts, "\n"))
}

// cut returns s cut to maxNameLen bytes, on a rune boundary: names are
// labels, and a hostile caller chooses them.
func cut(s string) string {
	if len(s) <= maxNameLen {
		return s
	}
	i := maxNameLen
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

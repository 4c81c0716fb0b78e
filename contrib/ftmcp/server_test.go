package ftmcp_test

import (
	"context"
	"errors"
	"testing"

	"github.com/flowtrace/flowtrace/contrib/ftmcp"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The SDK does not recover a handler's panic; the middleware records it
// as the run's error and lets it go on, with its own value.
func TestServerRecordsHandlerPanic(t *testing.T) {
	tools := newSide(t)
	h := ftmcp.ServerMiddleware(tools.svc)(func(context.Context, string, mcp.Request) (mcp.Result, error) {
		panic("boom")
	})
	req := &mcp.ServerRequest[*mcp.CallToolParamsRaw]{Params: &mcp.CallToolParamsRaw{Name: "explode"}}
	assert.PanicsWithValue(t, "boom", func() { _, _ = h(context.Background(), "tools/call", req) })
	tools.shutdown(t)
	runs := tools.mem.Runs()
	require.Len(t, runs, 1)
	assert.Equal(t, "tools/call explode", runs[0].Info.RunName)
	require.Error(t, runs[0].Err)
	assert.Equal(t, "ftmcp: handler panicked: boom", runs[0].Err.Error())
}

func TestServerPassesThroughUntraced(t *testing.T) {
	tools := newSide(t)
	called := 0
	next := func(ctx context.Context, _ string, _ mcp.Request) (mcp.Result, error) {
		called++
		return nil, errors.New("handled")
	}
	req := &mcp.ServerRequest[*mcp.InitializedParams]{}
	for _, h := range []mcp.MethodHandler{ftmcp.ServerMiddleware(tools.svc)(next), ftmcp.ServerMiddleware(nil)(next)} {
		_, err := h(context.Background(), "notifications/initialized", req)
		assert.EqualError(t, err, "handled", "next's answer is returned")
	}
	_, err := ftmcp.ServerMiddleware(nil)(next)(context.Background(), "tools/list", &mcp.ServerRequest[*mcp.ListToolsParams]{})
	assert.EqualError(t, err, "handled")
	assert.Equal(t, 3, called)
	tools.shutdown(t)
	assert.Zero(t, tools.mem.Len(), "no run for a notification, nor with a nil service")
}

// After Shutdown the service starts no run; the request is still served.
func TestServerServesAfterShutdown(t *testing.T) {
	tools := newSide(t)
	tools.shutdown(t)
	h := ftmcp.ServerMiddleware(tools.svc)(func(context.Context, string, mcp.Request) (mcp.Result, error) {
		return &mcp.CallToolResult{}, nil
	})
	res, err := h(context.Background(), "tools/call", &mcp.ServerRequest[*mcp.CallToolParamsRaw]{Params: &mcp.CallToolParamsRaw{Name: "t"}})
	require.NoError(t, err)
	assert.NotNil(t, res)
	assert.Zero(t, tools.mem.Len())
}

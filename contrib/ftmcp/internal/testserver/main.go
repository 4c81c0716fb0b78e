// Command testserver serves the tools of package toolserver over stdio,
// for the stdio tests of ftmcp, which build it. stdout is the MCP channel,
// so the runs are written as JSON lines (exporter/jsonl) to the file
// FTMCP_TRACE_FILE names; the file is complete when the process exits,
// which it does when its stdin is closed.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/flowtrace/flowtrace"
	"github.com/flowtrace/flowtrace/contrib/ftmcp/internal/toolserver"
	"github.com/flowtrace/flowtrace/exporter/jsonl"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "testserver:", err)
		os.Exit(1)
	}
}

func run() error {
	path := os.Getenv("FTMCP_TRACE_FILE")
	if path == "" {
		return fmt.Errorf("FTMCP_TRACE_FILE is not set")
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	svc, err := flowtrace.NewTraceService(flowtrace.WithExporter(jsonl.New(f)))
	if err != nil {
		return err
	}
	runErr := toolserver.New(svc).Run(context.Background(), &mcp.StdioTransport{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := svc.Shutdown(ctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := f.Sync(); err != nil {
		return err
	}
	_ = runErr // the client closing stdin ends Run; that is how it stops
	return nil
}

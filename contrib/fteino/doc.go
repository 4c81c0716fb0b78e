// Package fteino traces runs of cloudwego/eino graphs, chains and agents
// with flowtrace, through eino's callbacks.
//
// # Usage
//
// Start a run around the engine call and pass the handler with the call:
//
//	h := fteino.NewHandler()
//	ctx, _ = svc.StartTracers(ctx, flowtrace.RunInfo{RunName: "answer"})
//	out, err := runnable.Invoke(ctx, in, compose.WithCallbacks(h))
//	_, _ = svc.EndTracers(ctx, map[string]any{"answer": out}, err)
//
// The handler keeps no state of its own: every component it starts lives in
// the ctx eino hands back to its end callback, and the run lives in the ctx
// the caller passed. One handler serves any number of concurrent runs. It
// can also be installed once with callbacks.AppendGlobalHandlers when every
// eino call that should be traced runs inside a flowtrace run: a callback
// outside one records nothing and reports nothing (there is no service to
// report to). In an unsampled run it records and reports nothing either. It needs no service: it records through the one that
// started the run in its ctx, so one handler serves the runs of every
// service in the process.
//
// # What is recorded
//
// Each callback becomes a component, a child of the one it runs in: graphs,
// chains, workflows, lambdas and the tools node as flowtrace.TypeChain, chat
// models as TypeLLM, tools as TypeTool, retrievers as TypeRetriever,
// embedders as TypeEmbedding, chat templates as TypePrompt, and other
// components (indexers, loaders, document transformers) by their eino kind,
// lower-cased. A component is named by its node name (compose.WithNodeName),
// else by the last segment of its eino address (the node key, the tool
// name, the graph name), else by its implementation type and kind.
//
// A chat model's call is recorded with RecordModelCall: model, parameters,
// input and output messages with their roles and tool calls, token usage
// (from the callback output's TokenUsage, or the message's response meta),
// finish reason, and for a stream the time to its first chunk. The
// provider is the implementation's type name (components.Typer),
// lower-cased. An embedder's model and usage are recorded the same way.
//
// # Streams
//
// A streamed output is drained from eino's copy of it on a goroutine,
// under flowtrace.Hold: its chunks are joined (text bounded like any recorded
// string), recorded as the component's output, and the component ends when
// the stream does — with the stream's error if it failed. EndTracers waits
// for that, so the natural code (read the stream, then EndTracers) loses
// nothing. A streamed input is drained the same way and recorded with
// SetInputs; its component ends after it. A stream abandoned by its reader
// is still drained and ends its component.
package fteino

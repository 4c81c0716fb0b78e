package fteino

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/cloudwego/eino/callbacks"
	"github.com/cloudwego/eino/components"
	"github.com/cloudwego/eino/components/embedding"
	"github.com/cloudwego/eino/components/model"
	"github.com/cloudwego/eino/components/prompt"
	"github.com/cloudwego/eino/components/retriever"
	"github.com/cloudwego/eino/components/tool"
	"github.com/cloudwego/eino/compose"
	"github.com/cloudwego/eino/schema"
	"github.com/flowtrace/flowtrace"
)

// NewHandler returns an eino callbacks.Handler that records each callback
// as a component of the flowtrace run in the ctx eino passes it, through
// the service that started that run (flowtrace's package-level functions).
// It keeps no state: it is safe for concurrent use by any number of runs,
// of any number of services. Outside a run (a ctx not derived from
// StartTracers) every callback records nothing, silently: there is no
// service to report to.
func NewHandler() callbacks.Handler { return handler{} }

type handler struct{}

// modelKey carries, from a component's start to its end in the ctx eino
// hands back, the model call its start described.
type modelKey struct{}

func (h handler) OnStart(ctx context.Context, info *callbacks.RunInfo, in callbacks.CallbackInput) context.Context {
	return h.start(ctx, info, in, false)
}

// OnStartWithStreamInput starts the component, then records its input
// with SetInputs once eino's copy of the stream is drained. The drain holds
// the component (flowtrace.Hold), so its end, even if eino calls it first, takes
// effect after the input is recorded.
func (h handler) OnStartWithStreamInput(ctx context.Context, info *callbacks.RunInfo, in *schema.StreamReader[callbacks.CallbackInput]) context.Context {
	ctx = h.start(ctx, info, nil, true)
	release := flowtrace.Hold(ctx)
	go func() {
		defer release()
		c := collector{text: new(flowtrace.Stream)} // the input's own; StartStream's is the answer's
		err := drain(&c, in)
		inputs := map[string]any{"input": c.value()}
		if err != nil {
			inputs["input_error"] = err.Error()
		}
		flowtrace.SetInputs(ctx, inputs)
	}()
	return ctx
}

func (h handler) OnEnd(ctx context.Context, info *callbacks.RunInfo, out callbacks.CallbackOutput) context.Context {
	h.record(ctx, info, out)
	flowtrace.EndComponent(ctx, nil) // deferred, while a streamed input is still being recorded, by its Hold
	return ctx
}

func (h handler) OnError(ctx context.Context, info *callbacks.RunInfo, err error) context.Context {
	if call, ok := ctx.Value(modelKey{}).(*flowtrace.ModelCall); ok && call != nil {
		flowtrace.RecordModelCall(ctx, *call) // the input, at least
	}
	flowtrace.EndComponent(ctx, err)
	return ctx
}

// OnEndWithStreamOutput drains eino's copy of the stream on a goroutine
// under Hold, records it joined, and ends the component when the stream
// ends — with its error, if it failed.
func (h handler) OnEndWithStreamOutput(ctx context.Context, info *callbacks.RunInfo, out *schema.StreamReader[callbacks.CallbackOutput]) context.Context {
	release := flowtrace.Hold(ctx)
	go func() {
		defer release()
		c := collector{text: flowtrace.StartStream(ctx)}
		err := drain(&c, out)
		if call, ok := ctx.Value(modelKey{}).(*flowtrace.ModelCall); ok && call != nil && kind(info) == flowtrace.TypeLLM {
			o := c.modelOutput()
			rec := withOutput(*call, o.Message, o.Config, o.TokenUsage)
			rec.TimeToFirstChunk = c.text.TimeToFirstChunk()
			flowtrace.RecordModelCall(ctx, rec)
		} else {
			flowtrace.SetOutputs(ctx, map[string]any{"output": c.value()})
		}
		flowtrace.EndComponent(ctx, err)
	}()
	return ctx
}

// start starts the component a callback announces and returns its ctx.
func (h handler) start(ctx context.Context, info *callbacks.RunInfo, in any, streamed bool) context.Context {
	if info == nil {
		info = &callbacks.RunInfo{}
	}
	ci := flowtrace.ComponentInfo{Name: name(ctx, info), Type: kind(info), Metadata: map[string]any{"eino_component": string(info.Component)}}
	if info.Type != "" {
		ci.Metadata["eino_type"] = info.Type
	}
	if id := compose.GetToolCallID(ctx); id != "" && ci.Type == flowtrace.TypeTool {
		ci.Metadata["tool_call_id"] = id
	}
	var call *flowtrace.ModelCall
	if ci.Type == flowtrace.TypeLLM {
		call = &flowtrace.ModelCall{Provider: strings.ToLower(info.Type)}
		if mi := model.ConvCallbackInput(in); mi != nil {
			call.Input = messages(mi.Messages...)
			call.Model, call.Parameters = config(mi.Config)
		}
	} else if !streamed {
		ci.Inputs = inputs(ci.Type, in)
	}
	ctx, _ = flowtrace.TraceComponent(ctx, ci)
	if call != nil || ctx.Value(modelKey{}) != nil {
		ctx = context.WithValue(ctx, modelKey{}, call) // not a parent's
	}
	return ctx
}

// record records a component's output: a model call for models and
// embedders, outputs for the rest.
func (h handler) record(ctx context.Context, info *callbacks.RunInfo, out any) {
	var outputs map[string]any
	switch kind(info) {
	case flowtrace.TypeLLM:
		call, _ := ctx.Value(modelKey{}).(*flowtrace.ModelCall)
		if call == nil {
			call = &flowtrace.ModelCall{}
		}
		rec := *call
		if o := model.ConvCallbackOutput(out); o != nil {
			rec = withOutput(rec, o.Message, o.Config, o.TokenUsage)
		}
		flowtrace.RecordModelCall(ctx, rec)
		return
	case flowtrace.TypeEmbedding:
		if o := embedding.ConvCallbackOutput(out); o != nil {
			call := flowtrace.ModelCall{Provider: strings.ToLower(info.Type)}
			if o.Config != nil {
				call.Model = o.Config.Model
			}
			if u := o.TokenUsage; u != nil {
				call.Usage = usage(u.PromptTokens, 0, u.CompletionTokens, u.TotalTokens, 0)
			}
			flowtrace.RecordModelCall(ctx, call)
			outputs = map[string]any{"embeddings": len(o.Embeddings)}
		}
	case flowtrace.TypeTool:
		if o := tool.ConvCallbackOutput(out); o != nil && o.ToolOutput != nil {
			outputs = map[string]any{"output": o.ToolOutput}
		} else if o != nil {
			outputs = map[string]any{"output": o.Response}
		}
	case flowtrace.TypeRetriever:
		if o := retriever.ConvCallbackOutput(out); o != nil {
			outputs = map[string]any{"documents": documents(o.Docs)}
		}
	case flowtrace.TypePrompt:
		if o := prompt.ConvCallbackOutput(out); o != nil {
			outputs = map[string]any{"messages": messages(o.Result...)}
		}
	}
	if outputs == nil {
		outputs = map[string]any{"output": value(out)}
	}
	flowtrace.SetOutputs(ctx, outputs)
}

// inputs are the recorded inputs of a component of type typ.
func inputs(typ string, in any) map[string]any {
	switch typ {
	case flowtrace.TypeTool:
		if i := tool.ConvCallbackInput(in); i != nil {
			return map[string]any{"arguments": i.ArgumentsInJSON}
		}
	case flowtrace.TypeRetriever:
		if i := retriever.ConvCallbackInput(in); i != nil {
			return map[string]any{"query": i.Query, "top_k": i.TopK}
		}
	case flowtrace.TypeEmbedding:
		if i := embedding.ConvCallbackInput(in); i != nil {
			return map[string]any{"texts": i.Texts}
		}
	case flowtrace.TypePrompt:
		if i := prompt.ConvCallbackInput(in); i != nil {
			return map[string]any{"variables": i.Variables}
		}
	}
	return map[string]any{"input": value(in)}
}

// kind is the flowtrace component type of an eino component.
func kind(info *callbacks.RunInfo) string {
	if info == nil {
		return flowtrace.TypeChain
	}
	switch info.Component {
	case components.ComponentOfChatModel:
		return flowtrace.TypeLLM
	case components.ComponentOfTool:
		return flowtrace.TypeTool
	case components.ComponentOfRetriever:
		return flowtrace.TypeRetriever
	case components.ComponentOfEmbedding:
		return flowtrace.TypeEmbedding
	case components.ComponentOfPrompt:
		return flowtrace.TypePrompt
	case "", compose.ComponentOfGraph, compose.ComponentOfChain, compose.ComponentOfWorkflow,
		compose.ComponentOfLambda, compose.ComponentOfToolsNode, compose.ComponentOfPassthrough, compose.ComponentOfUnknown:
		return flowtrace.TypeChain
	}
	return strings.ToLower(string(info.Component))
}

// name is the node name, else the last segment of the eino address (node
// key, tool name, graph name), else implementation type and kind.
func name(ctx context.Context, info *callbacks.RunInfo) string {
	if info.Name != "" {
		return info.Name
	}
	if a := compose.GetCurrentAddress(ctx); len(a) > 0 && a[len(a)-1].ID != "" {
		return a[len(a)-1].ID
	}
	return info.Type + string(info.Component)
}

// drain reads the stream to its end and closes it, returning its error
// (nil at io.EOF).
func drain[T any](c *collector, sr *schema.StreamReader[T]) error {
	defer sr.Close()
	for {
		chunk, err := sr.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		c.add(chunk)
	}
}

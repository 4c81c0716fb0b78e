package ftlangchaingo

import (
	"context"
	"fmt"
	"strconv"

	"github.com/tmc/langchaingo/callbacks"
	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/schema"

	"github.com/flowtrace/flowtrace"
)

var _ callbacks.Handler = (*Handler)(nil)

// Handler is a langchaingo callbacks.Handler that records chains, model
// calls, tools, retrievers and agent steps as components of the flowtrace
// run carried by the callbacks' ctx. It keeps no run of its own: one
// Handler serves every run, concurrently. Make it with NewHandler; the
// zero value and a nil *Handler record nothing.
type Handler struct {
	svc             *flowtrace.TraceService
	provider, model string
}

// NewHandler returns a Handler recording into svc.
func NewHandler(svc *flowtrace.TraceService) *Handler {
	return &Handler{svc: svc}
}

// WithModel returns a copy of h that names the provider and model of the
// model calls it records, for the model it is given to (langchaingo's
// callbacks do not say which model answers; a model named in the answer's
// generation info wins).
func (h *Handler) WithModel(provider, model string) *Handler {
	if h == nil {
		return nil
	}
	c := *h
	c.provider, c.model = provider, model
	return &c
}

// start starts a component under the innermost open component of ctx's
// run: langchaingo gives the same ctx to every callback of a run.
func (h *Handler) start(ctx context.Context, typ, name string, inputs map[string]any) (context.Context, *flowtrace.Component) {
	if h == nil || h.svc == nil {
		return ctx, nil
	}
	info := flowtrace.ComponentInfo{Name: name, Type: typ, Inputs: inputs}
	pctx, _ := h.svc.LatestComponent(ctx, "")
	cctx, c := h.svc.TraceComponent(pctx, info)
	if c == nil && pctx != ctx {
		// The parent ended in between (a parallel call's end took it):
		// start under the callback's own scope rather than lose the start.
		return h.svc.TraceComponent(ctx, info)
	}
	return cctx, c
}

// latest returns the innermost open component of type typ, the one an end
// callback pairs with, and a ctx scoped to it.
func (h *Handler) latest(ctx context.Context, typ string) (context.Context, *flowtrace.Component) {
	if h == nil || h.svc == nil {
		return ctx, nil
	}
	return h.svc.LatestComponent(ctx, typ)
}

// end ends the innermost open component of type typ with err, after
// write (if any) wrote through it. Components started inside it that are
// still open are ended first, with err: langchaingo's models, tools and
// retrievers do not all call back their errors; the chain around them does.
func (h *Handler) end(ctx context.Context, typ string, err error, write func(context.Context)) {
	cctx, c := h.latest(ctx, typ)
	if c == nil {
		return
	}
	if write != nil {
		write(cctx)
	}
	cc, _ := flowtrace.ComponentFromContext(cctx)
	for seen := c; ; {
		dctx, d := h.svc.LatestComponent(ctx, "")
		if d == nil || d == seen || !h.under(ctx, dctx, cc.ID()) {
			break
		}
		derr := err
		if derr == nil {
			derr = fmt.Errorf("%w: its end was not called back before its parent's", flowtrace.ErrComponentNotEnded)
		}
		h.finish(dctx, d, derr)
		seen = d
	}
	h.finish(cctx, c, err)
}

// finish ends c.
func (h *Handler) finish(_ context.Context, c *flowtrace.Component, err error) {
	c.End(err)
}

// under reports whether the component of dctx descends from the open
// component id.
func (h *Handler) under(ctx, dctx context.Context, id string) bool {
	cc, _ := flowtrace.ComponentFromContext(dctx)
	for p := cc.ParentID(); p != ""; {
		if p == id {
			return true
		}
		pctx, pc := h.svc.ComponentByID(ctx, p)
		if pc == nil {
			return false
		}
		cc, _ = flowtrace.ComponentFromContext(pctx)
		p = cc.ParentID()
	}
	return false
}

// HandleChainStart starts a chain component with the chain's inputs.
func (h *Handler) HandleChainStart(ctx context.Context, inputs map[string]any) {
	h.start(ctx, flowtrace.TypeChain, "chain", inputs)
}

// HandleChainEnd ends the innermost open chain with its outputs.
func (h *Handler) HandleChainEnd(ctx context.Context, outputs map[string]any) {
	h.end(ctx, flowtrace.TypeChain, nil, func(cctx context.Context) { h.svc.SetOutputs(cctx, outputs) })
}

// HandleChainError ends the innermost open chain with err.
func (h *Handler) HandleChainError(ctx context.Context, err error) {
	h.end(ctx, flowtrace.TypeChain, err, nil)
}

// HandleLLMStart starts a model call from plain prompts (the older
// callback; langchaingo's models call HandleLLMGenerateContentStart).
func (h *Handler) HandleLLMStart(ctx context.Context, prompts []string) {
	ms := make([]llms.MessageContent, len(prompts))
	for i, p := range prompts {
		ms[i] = llms.TextParts(llms.ChatMessageTypeHuman, p)
	}
	h.HandleLLMGenerateContentStart(ctx, ms)
}

// HandleLLMGenerateContentStart starts a model call component and records
// the messages sent, with their roles, parts and tool calls.
func (h *Handler) HandleLLMGenerateContentStart(ctx context.Context, ms []llms.MessageContent) {
	name := "llm"
	if h != nil && h.model != "" {
		name = h.model
	}
	if cctx, c := h.start(ctx, flowtrace.TypeLLM, name, nil); c != nil {
		h.svc.RecordModelCall(cctx, flowtrace.ModelCall{Input: inputMessages(ms)})
	}
}

// HandleLLMGenerateContentEnd records the answer — messages, model, token
// usage, finish reasons, time to first chunk if it was streamed — and ends
// the model call.
func (h *Handler) HandleLLMGenerateContentEnd(ctx context.Context, res *llms.ContentResponse) {
	h.end(ctx, flowtrace.TypeLLM, nil, func(cctx context.Context) {
		call := flowtrace.ModelCall{Provider: h.provider, Model: h.model}
		if res != nil {
			modelCall(&call, res.Choices)
		}
		h.svc.RecordModelCall(cctx, call) // its time to first chunk comes from the component's Stream

	})
}

// HandleLLMError ends the innermost open model call with err.
func (h *Handler) HandleLLMError(ctx context.Context, err error) {
	h.end(ctx, flowtrace.TypeLLM, err, nil)
}

// HandleStreamingFunc adds a streamed chunk to the innermost open model
// call's Stream (the library keeps one per component); the first one
// stamps its time to first chunk.
func (h *Handler) HandleStreamingFunc(ctx context.Context, chunk []byte) {
	if cctx, c := h.latest(ctx, flowtrace.TypeLLM); c != nil {
		h.svc.StartStream(cctx).Chunk(string(chunk))
	}
}

// HandleToolStart starts a tool component with its input. langchaingo
// does not name the tool; the agent action before it does (see
// HandleAgentAction).
func (h *Handler) HandleToolStart(ctx context.Context, input string) {
	h.start(ctx, flowtrace.TypeTool, "tool", map[string]any{"input": input})
}

// HandleToolEnd ends the innermost open tool with its output.
func (h *Handler) HandleToolEnd(ctx context.Context, output string) {
	h.end(ctx, flowtrace.TypeTool, nil, func(cctx context.Context) { h.svc.SetOutputs(cctx, map[string]any{"output": output}) })
}

// HandleToolError ends the innermost open tool with err.
func (h *Handler) HandleToolError(ctx context.Context, err error) {
	h.end(ctx, flowtrace.TypeTool, err, nil)
}

// HandleRetrieverStart starts a retriever component with its query.
func (h *Handler) HandleRetrieverStart(ctx context.Context, query string) {
	h.start(ctx, flowtrace.TypeRetriever, "retriever", map[string]any{"query": query})
}

// HandleRetrieverEnd ends the innermost open retriever with the documents
// it found as outputs.
func (h *Handler) HandleRetrieverEnd(ctx context.Context, _ string, docs []schema.Document) {
	out := make([]map[string]any, len(docs))
	for i, d := range docs {
		out[i] = map[string]any{"page_content": d.PageContent, "metadata": d.Metadata, "score": score(d.Score)}
	}
	h.end(ctx, flowtrace.TypeRetriever, nil, func(cctx context.Context) { h.svc.SetOutputs(cctx, map[string]any{"documents": out}) })
}

// score is a float32 score as a float64 that prints the same (0.9, not
// 0.8999999761581421).
func score(f float32) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	return v
}

// HandleAgentAction logs the agent's next action on the innermost open
// chain (the agent's executor).
func (h *Handler) HandleAgentAction(ctx context.Context, a schema.AgentAction) {
	h.log(ctx, "agent_action", map[string]any{"tool": a.Tool, "tool_input": a.ToolInput, "tool_id": a.ToolID, "log": a.Log})
}

// HandleAgentFinish logs the agent's final answer on the innermost open
// chain.
func (h *Handler) HandleAgentFinish(ctx context.Context, f schema.AgentFinish) {
	h.log(ctx, "agent_finish", map[string]any{"return_values": f.ReturnValues, "log": f.Log})
}

// HandleText logs text on the innermost open component.
func (h *Handler) HandleText(ctx context.Context, text string) {
	h.addLog(ctx, "", flowtrace.Log{Name: "text", Message: text})
}

func (h *Handler) log(ctx context.Context, name string, msg map[string]any) {
	h.addLog(ctx, flowtrace.TypeChain, flowtrace.Log{Name: name, Type: flowtrace.TypeAgent, Message: msg})
}

// addLog logs on the innermost open component of type typ, or on the run.
func (h *Handler) addLog(ctx context.Context, typ string, l flowtrace.Log) {
	if h == nil || h.svc == nil {
		return
	}
	ctx, _ = h.svc.LatestComponent(ctx, typ)
	h.svc.AddLog(ctx, l)
}

// Package ftlangchaingo traces github.com/tmc/langchaingo with flowtrace:
// a callbacks.Handler that records chains, model calls (messages, model,
// token usage, finish reasons, time to first chunk), tools, retrievers and
// agent steps as components of the run in the callbacks' ctx.
//
// # Usage
//
// One Handler serves every run. Give it to what langchaingo calls back
// from — the model, the chain or agent executor, the tools, the
// retriever — and run each request between StartTracers and EndTracers:
//
//	h := ftlangchaingo.NewHandler(svc)
//	llm, _ := openai.New(openai.WithCallback(h.WithModel("openai", "gpt-4o")))
//	agent := agents.NewExecutor(agents.NewOneShotAgent(llm, tools, agents.WithCallbacksHandler(h)), agents.WithCallbacksHandler(h))
//	ctx, _ = svc.StartTracers(ctx, flowtrace.RunInfo{RunName: "ask"})
//	answer, err := chains.Run(ctx, agent, question)
//	svc.EndTracers(ctx, map[string]any{"answer": answer}, err)
//
// Tools call back through their own CallbacksHandler field, a retriever
// made with vectorstores.ToRetriever through its CallbacksHandler field,
// an LLMChain through chains.WithCallback given to NewLLMChain.
// chains.WithCallback given as a call option only routes streamed chunks.
//
// # Pairing, and its limit
//
// langchaingo's callbacks get the ctx of the call, the same at start and
// end, and cannot return one; they carry no call ID. So a start callback
// starts its component under the innermost open component of the run
// (TraceService.LatestComponent with no type) and an end callback ends the
// innermost open component of its type. That is exact for sequential
// calls. Calls running in parallel inside one run — chains.Apply, or
// goroutines sharing a ctx — cannot be told apart: a component may be
// parented under a sibling, an end may end a sibling, and a write may find
// its component already ended (counted as late). Runs stay separate, every
// component has a parent in its run, every one is ended (by its callbacks,
// by the chain around it, or as not ended by EndTracers), and nothing
// waits. Start a run per parallel branch to keep branches exact.
//
// # What langchaingo does not say
//
// Chains and tools are not named in their callbacks: components are named
// "chain", "tool", "retriever" and "llm" (or the model given to
// WithModel); an agent's chosen tool is logged as "agent_action" on the
// executor's chain just before the tool runs. Some models (OpenAI's,
// among others) and all retrievers report no error: a component left open
// is ended with the error of the chain around it, or as not ended by
// EndTracers. Invocation parameters are not passed to callbacks.
//
// # Streams
//
// HandleStreamingFunc feeds the innermost open model call's
// flowtrace.Stream — the component's own, which the library keeps with
// it — and the first chunk stamps the call's time to first chunk. The
// Handler keeps nothing per call.
package ftlangchaingo

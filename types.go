package flowtrace

// Component types that tracing backends render specially. ComponentInfo.Type
// is a free string; these are the values the OpenTelemetry bridge maps to
// OpenInference span kinds (TypeLLM to LLM, and so on; anything else is a
// CHAIN), and the engine adapters use.
const (
	TypeLLM       = "llm"
	TypeChain     = "chain"
	TypeTool      = "tool"
	TypeRetriever = "retriever"
	TypeEmbedding = "embedding"
	TypeAgent     = "agent"
	TypeReranker  = "reranker"
	TypeGuardrail = "guardrail"
	TypeEvaluator = "evaluator"
	TypePrompt    = "prompt"
)

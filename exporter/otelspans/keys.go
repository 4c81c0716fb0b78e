package otelspans

// Attribute keys the bridge writes. They are constants of this package, not
// of a semconv module: the OpenInference keys are defined by the
// OpenInference specification, and the OpenTelemetry GenAI keys are still
// in development and have moved between semconv releases.
const (
	// flowtrace's own keys.
	KeyRunID           = "flowtrace.run.id"
	KeyRunName         = "flowtrace.run.name"
	KeyProjectName     = "flowtrace.project.name"
	KeyParentRunID     = "flowtrace.parent_run.id"
	KeyComponentID     = "flowtrace.component.id"
	KeyComponentType   = "flowtrace.component.type"
	KeyLogMessage      = "message"
	KeyLogType         = "type"
	KeyExceptionMsg    = "exception.message"
	KeyEndNotDelivered = "flowtrace.component.end_missing"
	// KeyRunStatus is "suspended" on the span of a run ended by
	// SuspendTracers, and "resumed" on the span of its continuation (a
	// continuation suspended in turn says "suspended"); absent otherwise.
	// KeyComponentStatus is "suspended" on a component open when its run
	// was suspended. Neither sets the span's status: a suspended run did
	// not fail.
	KeyRunStatus       = "flowtrace.run.status"
	KeyComponentStatus = "flowtrace.component.status"
	StatusSuspended    = "suspended"
	StatusResumed      = "resumed"
	// Without OpenInference, values go under flowtrace's own keys.
	KeyInputs   = "flowtrace.inputs"
	KeyOutputs  = "flowtrace.outputs"
	KeyMetadata = "flowtrace.metadata"

	// OpenInference keys.
	KeyOISpanKind       = "openinference.span.kind"
	KeyOIInputValue     = "input.value"
	KeyOIInputMimeType  = "input.mime_type"
	KeyOIOutputValue    = "output.value"
	KeyOIOutputMimeType = "output.mime_type"
	KeyOIMetadata       = "metadata"
	KeySessionID        = "session.id"
	KeyUserID           = "user.id"
	// KeyOIProjectName is a resource attribute, not a span one: the
	// project Phoenix files the spans under (set by the Phoenix preset).
	KeyOIProjectName = "openinference.project.name"

	// OpenInference keys of model calls and tags.
	KeyOITags                 = "tag.tags"
	KeyLLMModelName           = "llm.model_name"
	KeyLLMProvider            = "llm.provider"
	KeyLLMInvocationParams    = "llm.invocation_parameters"
	KeyLLMTokensPrompt        = "llm.token_count.prompt"
	KeyLLMTokensCompletion    = "llm.token_count.completion"
	KeyLLMTokensTotal         = "llm.token_count.total"
	KeyLLMTokensCacheRead     = "llm.token_count.prompt_details.cache_read"
	KeyLLMTokensCacheWrite    = "llm.token_count.prompt_details.cache_write"
	KeyLLMTokensReasoning     = "llm.token_count.completion_details.reasoning"
	KeyLLMCostTotal           = "llm.cost.total"
	KeyLLMCostPrompt          = "llm.cost.prompt"
	KeyLLMCostCompletion      = "llm.cost.completion"
	KeyLLMFinishReason        = "llm.finish_reason" // the first of the call's finish reasons
	KeyLLMInputMessagesPrefix = "llm.input_messages"
	KeyLLMOutputMsgsPrefix    = "llm.output_messages"

	// OpenTelemetry GenAI keys (semantic conventions in development).
	KeyGenAIOperationName  = "gen_ai.operation.name"
	KeyGenAIConversationID = "gen_ai.conversation.id"
	KeyGenAIToolName       = "gen_ai.tool.name"
	KeyGenAIAgentName      = "gen_ai.agent.name"
	KeyGenAIToolArguments  = "gen_ai.tool.call.arguments"
	KeyGenAIToolResult     = "gen_ai.tool.call.result"
	KeyGenAIRequestModel   = "gen_ai.request.model"
	KeyGenAIProviderName   = "gen_ai.provider.name"
	KeyGenAIInputTokens    = "gen_ai.usage.input_tokens"
	KeyGenAIOutputTokens   = "gen_ai.usage.output_tokens"
	KeyGenAIFinishReasons  = "gen_ai.response.finish_reasons"
	KeyGenAITimeToFirst    = "gen_ai.response.time_to_first_chunk" // seconds
	KeyGenAIWorkflowName   = "gen_ai.workflow.name"
	KeyGenAIResponseID     = "gen_ai.response.id"
	KeyGenAIResponseModel  = "gen_ai.response.model"
	KeyGenAIRequestStream  = "gen_ai.request.stream"
	// Token counts besides input and output; each is a part of one of
	// those, as the conventions define them and flowtrace.Usage records
	// them.
	KeyGenAICacheReadTokens     = "gen_ai.usage.cache_read.input_tokens"
	KeyGenAICacheCreationTokens = "gen_ai.usage.cache_creation.input_tokens"
	KeyGenAIReasoningTokens     = "gen_ai.usage.reasoning.output_tokens"
	// Request parameters, from a model call's Parameters (see
	// genAIParams for the names each is read from).
	KeyGenAIRequestMaxTokens        = "gen_ai.request.max_tokens"
	KeyGenAIRequestTemperature      = "gen_ai.request.temperature"
	KeyGenAIRequestTopP             = "gen_ai.request.top_p"
	KeyGenAIRequestTopK             = "gen_ai.request.top_k"
	KeyGenAIRequestFrequencyPenalty = "gen_ai.request.frequency_penalty"
	KeyGenAIRequestPresencePenalty  = "gen_ai.request.presence_penalty"
	KeyGenAIRequestSeed             = "gen_ai.request.seed"
	KeyGenAIRequestStopSequences    = "gen_ai.request.stop_sequences"
	KeyGenAIRequestChoiceCount      = "gen_ai.request.choice.count"
	KeyGenAIRequestEncodingFormats  = "gen_ai.request.encoding_formats"
	// Message content, as JSON in the conventions' message schema; written
	// only when EnvCaptureMessageContent is true.
	KeyGenAIInputMessages      = "gen_ai.input.messages"
	KeyGenAIOutputMessages     = "gen_ai.output.messages"
	KeyGenAISystemInstructions = "gen_ai.system_instructions"

	mimeJSON = "application/json"
)

// OpenTelemetry's HTTP semantic conventions (stable), as the tracing
// package records them: a run started by tracing.Middleware has
// KeyHTTPRequestMethod in its metadata, a client component of
// tracing.Transport too. The bridge makes the first a server span and the
// second a client span, and writes these keys as attributes of their own,
// as otelhttp does, so that service graphs and HTTP views read them.
const (
	KeyHTTPRequestMethod = "http.request.method"
	KeyHTTPRoute         = "http.route"
	KeyHTTPStatusCode    = "http.response.status_code"
	KeyHTTPResendCount   = "http.request.resend_count"
	KeyURLPath           = "url.path"
	KeyURLFull           = "url.full"
	KeyServerAddress     = "server.address"
	KeyServerPort        = "server.port"
	KeyErrorType         = "error.type"
	errorTypeOther       = "_OTHER" // error.type when the error names no type
)

// httpStartKeys are the keys lifted from the metadata of an HTTP span's
// start, httpEndKeys those from its outputs.
var (
	httpStartKeys = [...]string{KeyHTTPRequestMethod, KeyURLPath, KeyURLFull, KeyServerAddress, KeyServerPort, KeyHTTPResendCount}
	httpEndKeys   = [...]string{KeyHTTPRoute, KeyHTTPStatusCode, KeyErrorType}
)

// OpenTelemetry's MCP semantic conventions, as contrib/ftmcp records them
// in a run's or a component's metadata. The bridge writes them as
// attributes of their own too, and a tool's gen_ai.tool.name is the one of
// its metadata when there is one.
const (
	KeyMCPMethodName       = "mcp.method.name"
	KeyMCPSessionID        = "mcp.session.id"
	KeyJSONRPCRequestID    = "jsonrpc.request.id"
	KeyNetworkTransport    = "network.transport"
	opInvokeWorkflow       = "invoke_workflow"
	genAIOperationExecTool = "execute_tool"
)

// mcpKeys are the keys lifted from a start's metadata.
var mcpKeys = [...]string{KeyMCPMethodName, KeyGenAIToolName, KeyGenAIOperationName, KeyJSONRPCRequestID, KeyMCPSessionID, KeyNetworkTransport}

// openInferenceKind maps a component type to an OpenInference span kind.
func openInferenceKind(componentType string) string {
	switch componentType {
	case "llm":
		return "LLM"
	case "tool":
		return "TOOL"
	case "retriever":
		return "RETRIEVER"
	case "embedding":
		return "EMBEDDING"
	case "agent":
		return "AGENT"
	case "reranker":
		return "RERANKER"
	case "guardrail":
		return "GUARDRAIL"
	case "evaluator":
		return "EVALUATOR"
	case "prompt":
		return "PROMPT"
	}
	return "CHAIN"
}

// genAIOperation maps a component type to a GenAI operation name, or "".
func genAIOperation(componentType string) string {
	switch componentType {
	case "llm":
		return "chat"
	case "embedding":
		return "embeddings"
	case "tool":
		return genAIOperationExecTool
	case "agent":
		return "invoke_agent"
	}
	return ""
}

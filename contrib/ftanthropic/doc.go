// Package ftanthropic records calls made with the Anthropic Go SDK
// (github.com/anthropics/anthropic-sdk-go/v2) in flowtrace runs, through
// the SDK's request middleware.
//
// # Usage
//
//	client := anthropic.NewClient(ftanthropic.RequestOptions()...)
//	ctx, _ = svc.StartTracers(ctx, flowtrace.RunInfo{RunName: "answer"})
//	msg, err := client.Messages.New(ctx, params)
//	_, _ = svc.EndTracers(ctx, nil, err)
//
// RequestOptions is Middleware plus the SDK settings that keep one span
// per call: the SDK emits OpenTelemetry spans of its own and injects
// trace-context headers by default, through the globally registered
// provider and propagator, so with flowtrace's OpenTelemetry bridge each
// call would be exported twice and a request traced by flowtrace's HTTP
// transport would carry two traceparents. RequestOptions turns the SDK's
// spans and headers off (option.WithOpenTelemetryTraces(false),
// option.WithOpenTelemetryPropagation(false)). The other way — keeping the
// SDK's spans next to flowtrace's component — is Middleware alone, with the
// SDK's telemetry as configured; each call is then two spans, whose
// nesting this package does not arrange (the SDK starts its span from the
// caller's ctx, before the middleware runs).
//
// The middleware keeps no state: it records through the run in the
// request's ctx. A call in a ctx without a run, or in an unsampled run, is
// passed on untouched and costs nothing.
//
// # What is recorded
//
// Each call to the Messages API (POST …/messages) is a component of type
// flowtrace.TypeLLM named "chat <model>", with a flowtrace.ModelCall in two
// parts: when the request is sent, the provider ("anthropic"), the
// requested model, the invocation parameters (max_tokens, temperature,
// top_p, top_k, stop_sequences, thinking, tool_choice, stream, and the
// names of the tools offered) and the input messages, the system prompt
// first (role "system"), a tool_result block as a "tool" message answering
// its call, an image or document block as "[its type]", never its data;
// when the answer is complete, the output message with its text and tool
// calls (thinking blocks are left out), the stop reason, and the usage.
// Anthropic's input_tokens leave out the tokens read from and written to
// the prompt cache; flowtrace's InputTokens count them (its
// CacheReadTokens and CacheWriteTokens, from cache_read_input_tokens and
// cache_creation_input_tokens, are parts of it), so InputTokens is their
// sum, and TotalTokens is input plus output. The response's ID and the
// model that answered are the ModelCall's ResponseID and ResponseModel (its
// Model stays the requested one), and a streamed call's Stream is true.
//
// Nothing is read from headers: the API key and any header the caller set
// never reach a record.
//
// # Streams
//
// A streamed answer is parsed as the SDK reads it, by a reader that passes
// every byte on and keeps only the line being read: message_start gives
// the ID, model and input usage, content_block_start and
// content_block_delta the text (joined by the component's
// flowtrace.Stream, which stamps the time to the first chunk) and the tool
// calls (input_json_delta joined), message_delta the stop reason and the
// cumulative usage. The component ends at message_stop, or at an error
// event with its error; a stream that ends first with ErrStreamCut, one
// closed first with ErrStreamClosed, keeping what arrived.
//
// # Errors and retries
//
// An answer with an HTTP status of 400 or more ends the component with an
// *APIError that says the status and the API's error type and message;
// a successful answer that is not the API's JSON with ErrMalformedResponse.
// Each attempt the SDK makes is a component of its own: a call retried
// after a 429 or a 529 is two sibling components.
package ftanthropic

// Package ftopenai records calls made with the OpenAI Go SDK
// (github.com/openai/openai-go/v3) in flowtrace runs, through the SDK's
// request middleware.
//
// # Usage
//
// Install the middleware once on the client, and make calls in the ctx of
// a run:
//
//	client := openai.NewClient(option.WithMiddleware(ftopenai.Middleware()))
//	ctx, _ = svc.StartTracers(ctx, flowtrace.RunInfo{RunName: "answer"})
//	res, err := client.Chat.Completions.New(ctx, params)
//	_, _ = svc.EndTracers(ctx, nil, err)
//
// or per call, with option.WithMiddleware among the call's options. The
// middleware keeps no state: it records through the run in the request's
// ctx, so one middleware serves every client, run and service. A call in a
// ctx without a run, or in an unsampled run, is passed on untouched and
// costs nothing.
//
// # What is recorded
//
// Each call to the Chat Completions API (POST …/chat/completions) and the
// Responses API (POST …/responses) is a component of type flowtrace.TypeLLM,
// each call to the Embeddings API (POST …/embeddings) one of type
// flowtrace.TypeEmbedding, under the scope of the request's ctx. A
// component is named after the operation and the requested model:
// "chat gpt-4o", "responses gpt-4.1", "embeddings text-embedding-3-small".
// Other endpoints are not recorded.
//
// Each records a flowtrace.ModelCall in two parts, which backends merge:
// when the request is sent, the provider ("openai"), the requested model,
// the invocation parameters (temperature, max_tokens, top_p, seed, stop,
// stream, tool_choice, reasoning_effort…, and the names of the tools
// offered) and the input messages (a Responses request's instructions as a
// system message first; a part that is not text, such as an image, as
// "[its type]", never its data); when the answer is complete, the output
// message(s) with their tool calls, the finish reasons (for the Responses
// API, the response's status, or why it is incomplete), the token usage
// (input, output, total, cached input as CacheReadTokens, reasoning), the
// response's ID as ResponseID and the model that answered (a dated
// snapshot, usually; Model stays the requested one) as ResponseModel, and,
// for a stream, Stream and the time to its first chunk. An embeddings call
// records its input as the component's input "input" and the number of
// vectors as its output "embeddings".
//
// Nothing is read from headers: the API key, the organization and any
// header the caller set never reach a record.
//
// # Streams
//
// A streamed answer (Content-Type text/event-stream) is parsed as the
// SDK reads it: the response body is wrapped in a reader that passes every
// byte on unchanged and parses the server-sent events as they go by,
// keeping only the line being read — the stream is never held whole a
// second time. The text of the first choice is joined by the component's
// flowtrace.Stream (flowtrace.StartStream), which stamps the time to the
// first chunk; other choices' texts and the tool-call deltas (by index:
// ID, name, arguments joined) are joined by the reader. The usage comes
// from the last chunk of a chat stream (sent when
// stream_options.include_usage is true; WithStreamUsage sets it on requests
// that left it out), or from the Responses API's response.completed event.
//
// The component ends at the stream's last event ([DONE]; response.completed,
// response.incomplete or response.failed; an error event, whose error it
// ends with). A stream that ends before its last event ends its component
// with ErrStreamCut; one whose body is closed first (the caller stopped
// reading and closed it, or its ctx was cancelled) with ErrStreamClosed.
// Either way the component keeps what arrived. Read a stream to its end,
// or Close it, before EndTracers: a stream still open when its run ends is
// recorded as not ended.
//
// # Errors and retries
//
// An answer with an HTTP status of 400 or more ends the component with an
// *APIError whose message says the status and the API's error type, code
// and message ("ftopenai: 429 requests (rate_limit_exceeded): …"); a
// successful answer whose body is not the API's JSON with
// ErrMalformedResponse; a failed request with the transport's error. The
// caller gets the SDK's own error, as without the middleware.
//
// Every attempt the SDK makes passes through the middleware, so each is a
// component of its own: a call retried after a 429 is two sibling
// components, the first ending with the 429, the second with the answer.
// One component per attempt keeps each exact — its own timing, error and
// usage — where a retry count on one component would blur them.
package ftopenai

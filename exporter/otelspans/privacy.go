package otelspans

import (
	"os"
	"strconv"
	"strings"
)

// Environment variables the bridge reads, once, when New or NewOTLP builds
// it: the OpenInference specification's trace configuration
// (https://github.com/Arize-ai/openinference/blob/main/spec/configuration.md)
// for the OpenInference keys, and OpenTelemetry's switch for the GenAI
// message content. A value is true when strconv.ParseBool says so
// ("true", "1", ...); anything else, or nothing, is false.
const (
	// EnvHideInputs hides input.value (written as "__REDACTED__", without
	// its mime type) and every input message.
	EnvHideInputs = "OPENINFERENCE_HIDE_INPUTS"
	// EnvHideOutputs hides output.value the same way, and every output
	// message.
	EnvHideOutputs = "OPENINFERENCE_HIDE_OUTPUTS"
	// EnvHideInputMessages and EnvHideOutputMessages hide the
	// llm.input_messages and llm.output_messages, independently of the
	// values.
	EnvHideInputMessages  = "OPENINFERENCE_HIDE_INPUT_MESSAGES"
	EnvHideOutputMessages = "OPENINFERENCE_HIDE_OUTPUT_MESSAGES"
	// EnvHideInputText and EnvHideOutputText keep the messages but write
	// their content as "__REDACTED__".
	EnvHideInputText  = "OPENINFERENCE_HIDE_INPUT_TEXT"
	EnvHideOutputText = "OPENINFERENCE_HIDE_OUTPUT_TEXT"
	// EnvHideInvocationParams hides llm.invocation_parameters.
	EnvHideInvocationParams = "OPENINFERENCE_HIDE_LLM_INVOCATION_PARAMETERS"

	// EnvCaptureMessageContent, when true, writes the content of a model
	// call with GenAI conventions: gen_ai.input.messages,
	// gen_ai.output.messages and gen_ai.system_instructions. Off by
	// default, as OpenTelemetry's GenAI instrumentations have it. Besides
	// the booleans, "span_only" and "span_and_event" (any case), the
	// values of its newer form, turn it on.
	EnvCaptureMessageContent = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

	// Redacted replaces a value an OPENINFERENCE_HIDE_* variable hides, as
	// OpenInference's own instrumentations write it.
	Redacted = "__REDACTED__"
)

// privacy is what the environment said when the exporter was built.
type privacy struct {
	hideInputs, hideOutputs               bool
	hideInputMessages, hideOutputMessages bool // also true when the values are hidden
	hideInputText, hideOutputText         bool
	hideInvocationParams                  bool
	captureContent                        bool // GenAI message content
}

func privacyFromEnv() privacy {
	p := privacy{
		hideInputs:           envBool(EnvHideInputs),
		hideOutputs:          envBool(EnvHideOutputs),
		hideInputText:        envBool(EnvHideInputText),
		hideOutputText:       envBool(EnvHideOutputText),
		hideInvocationParams: envBool(EnvHideInvocationParams),
	}
	p.hideInputMessages = p.hideInputs || envBool(EnvHideInputMessages)
	p.hideOutputMessages = p.hideOutputs || envBool(EnvHideOutputMessages)
	switch v := strings.ToLower(strings.TrimSpace(os.Getenv(EnvCaptureMessageContent))); v {
	case "span_only", "span_and_event":
		p.captureContent = true
	default:
		p.captureContent, _ = strconv.ParseBool(v)
	}
	return p
}

func envBool(name string) bool {
	b, _ := strconv.ParseBool(strings.TrimSpace(os.Getenv(name)))
	return b
}

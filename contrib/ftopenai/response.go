package ftopenai

import (
	"encoding/json"
	"fmt"

	"github.com/flowtrace/flowtrace"
)

// This file reads what a whole (not streamed) response answered: output
// messages, finish reasons, usage, the response's ID and model, or the
// API's error.

// answer is what a call answered, whole or streamed.
type answer struct {
	id, model string
	output    []flowtrace.Message
	finish    []string
	usage     flowtrace.Usage
	count     int // embeddings: how many vectors
	err       error
}

type chatUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

func (u *chatUsage) usage() flowtrace.Usage {
	return flowtrace.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens, TotalTokens: u.TotalTokens,
		CacheReadTokens: u.PromptTokensDetails.CachedTokens, ReasoningTokens: u.CompletionTokensDetails.ReasoningTokens}
}

type responsesUsage struct {
	InputTokens        int64 `json:"input_tokens"`
	OutputTokens       int64 `json:"output_tokens"`
	TotalTokens        int64 `json:"total_tokens"`
	InputTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
}

func (u *responsesUsage) usage() flowtrace.Usage {
	return flowtrace.Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, TotalTokens: u.TotalTokens,
		CacheReadTokens: u.InputTokensDetails.CachedTokens, ReasoningTokens: u.OutputTokensDetails.ReasoningTokens}
}

// errorBody is the API's error object.
type errorBody struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Code    json.RawMessage `json:"code"` // a string, a number or null
}

func (e *errorBody) apiError(status int) *APIError {
	code := ""
	if len(e.Code) > 0 && string(e.Code) != "null" {
		if json.Unmarshal(e.Code, &code) != nil {
			code = string(e.Code)
		}
	}
	return &APIError{StatusCode: status, Type: e.Type, Code: code, Message: e.Message}
}

// parseError returns the error of a response with status status and body
// body: {"error": {...}}, or only the status when the body has none.
func parseError(status int, body []byte) *APIError {
	var v struct {
		Error *errorBody `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil || v.Error == nil {
		return &APIError{StatusCode: status}
	}
	return v.Error.apiError(status)
}

// parseAnswer reads the body of a successful response to op.
func parseAnswer(op operation, body []byte) answer {
	var a answer
	var err error
	switch op {
	case opChat:
		var v struct {
			ID      string `json:"id"`
			Model   string `json:"model"`
			Choices []struct {
				Message      chatMessage `json:"message"`
				FinishReason string      `json:"finish_reason"`
			} `json:"choices"`
			Usage *chatUsage `json:"usage"`
		}
		if err = json.Unmarshal(body, &v); err == nil {
			a.id, a.model = v.ID, v.Model
			for _, c := range v.Choices {
				a.output = append(a.output, c.Message.message())
				if c.FinishReason != "" {
					a.finish = append(a.finish, c.FinishReason)
				}
			}
			if v.Usage != nil {
				a.usage = v.Usage.usage()
			}
		}
	case opResponses:
		var v responsesObject
		if err = json.Unmarshal(body, &v); err == nil {
			v.fill(&a)
		}
	case opEmbeddings:
		var v struct {
			Model string            `json:"model"`
			Data  []json.RawMessage `json:"data"`
			Usage *chatUsage        `json:"usage"`
		}
		if err = json.Unmarshal(body, &v); err == nil {
			a.model, a.count = v.Model, len(v.Data)
			if v.Usage != nil {
				a.usage = v.Usage.usage()
			}
		}
	}
	if err != nil {
		a.err = fmt.Errorf("%w: %v", ErrMalformedResponse, err)
	}
	return a
}

// responsesObject is a response of the Responses API, whole or as the
// terminal event of its stream carries it.
type responsesObject struct {
	ID                string          `json:"id"`
	Model             string          `json:"model"`
	Status            string          `json:"status"`
	Output            []responsesItem `json:"output"`
	Usage             *responsesUsage `json:"usage"`
	IncompleteDetails *struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
	Error *errorBody `json:"error"`
}

// fill sets what r answered in a. The output becomes one assistant
// message with the text of its message items and the calls of its
// function_call items (the shape of a chat completion's choice); the
// finish reason is the response's status, or why it is incomplete.
func (r *responsesObject) fill(a *answer) {
	a.id, a.model = r.ID, r.Model
	var msg flowtrace.Message
	for _, it := range r.Output {
		switch it.Type {
		case "message":
			msg.Role = it.Role
			msg.Content += contentText(it.Content)
		case "function_call":
			msg.ToolCalls = append(msg.ToolCalls, flowtrace.ToolCall{ID: it.CallID, Name: it.Name, Arguments: it.Arguments})
		}
	}
	if msg.Content != "" || len(msg.ToolCalls) > 0 {
		if msg.Role == "" {
			msg.Role = "assistant"
		}
		a.output = []flowtrace.Message{msg}
	}
	switch {
	case r.IncompleteDetails != nil && r.IncompleteDetails.Reason != "":
		a.finish = []string{r.IncompleteDetails.Reason}
	case r.Status != "":
		a.finish = []string{r.Status}
	}
	if r.Usage != nil {
		a.usage = r.Usage.usage()
	}
	if r.Error != nil && r.Status == "failed" {
		a.err = r.Error.apiError(0)
	}
}

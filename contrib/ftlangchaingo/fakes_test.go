package ftlangchaingo_test

import (
	"context"
	"errors"
	"strings"

	"github.com/tmc/langchaingo/callbacks"
	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/schema"
	"github.com/tmc/langchaingo/vectorstores"
)

// fakeModel is an llms.Model that answers from its prompt, so that one
// model serves concurrent runs deterministically, and calls back as
// langchaingo's providers do. With stream, it sends its answer in chunks
// through the call's streaming func. A prompt containing "llm-fail" fails;
// with silentErrors the failure is not called back (as OpenAI's provider
// does).
type fakeModel struct {
	CallbacksHandler callbacks.Handler
	stream           bool
	silentErrors     bool
}

var errModel = errors.New("model unavailable")

// Answers, and the usage the model reports for each.
const (
	actionAnswer = "I should search.\nAction: search\nAction Input: "
	finalAnswer  = "Final Answer: 42"
	ragAnswer    = "Paris is the capital."
)

func (m *fakeModel) GenerateContent(ctx context.Context, ms []llms.MessageContent, options ...llms.CallOption) (*llms.ContentResponse, error) {
	if m.CallbacksHandler != nil {
		m.CallbacksHandler.HandleLLMGenerateContentStart(ctx, ms)
	}
	var opts llms.CallOptions
	for _, o := range options {
		o(&opts)
	}
	prompt := ""
	for _, msg := range ms {
		for _, p := range msg.Parts {
			if t, ok := p.(llms.TextContent); ok {
				prompt += t.Text
			}
		}
	}
	if strings.Contains(prompt, "llm-fail") {
		if m.CallbacksHandler != nil && !m.silentErrors {
			m.CallbacksHandler.HandleLLMError(ctx, errModel)
		}
		return nil, errModel
	}
	var answer string
	var in, out int
	switch {
	case strings.Contains(prompt, "pieces of context"):
		answer, in, out = ragAnswer, 40, 6
	case strings.Contains(prompt, "Observation: results for"):
		answer, in, out = finalAnswer, 30, 4
	default:
		answer, in, out = actionAnswer+question(prompt), 20, 5
	}
	if m.stream && opts.StreamingFunc != nil {
		for rest := answer; rest != ""; {
			n := min(len(rest), 7)
			if err := opts.StreamingFunc(ctx, []byte(rest[:n])); err != nil {
				return nil, err
			}
			rest = rest[n:]
		}
	}
	res := &llms.ContentResponse{Choices: []*llms.ContentChoice{{
		Content:    answer,
		StopReason: "stop",
		GenerationInfo: map[string]any{
			"PromptTokens": in, "CompletionTokens": out, "TotalTokens": in + out,
		},
	}}}
	if m.CallbacksHandler != nil {
		m.CallbacksHandler.HandleLLMGenerateContentEnd(ctx, res)
	}
	return res, nil
}

func (m *fakeModel) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, m, prompt, options...)
}

// question finds the question in the one-shot agent's prompt.
func question(prompt string) string {
	_, q, _ := strings.Cut(prompt, "Begin!\n\nQuestion: ")
	q, _, _ = strings.Cut(q, "\n")
	return q
}

// searchTool is a tool that calls back as langchaingo's tools do; it fails
// for an input containing "tool-fail".
type searchTool struct{ CallbacksHandler callbacks.Handler }

func (searchTool) Name() string        { return "search" }
func (searchTool) Description() string { return "searches the web" }

func (t searchTool) Call(ctx context.Context, input string) (string, error) {
	t.CallbacksHandler.HandleToolStart(ctx, input)
	if strings.Contains(input, "tool-fail") {
		err := errors.New("search failed")
		t.CallbacksHandler.HandleToolError(ctx, err)
		return "", err
	}
	out := "results for " + input
	t.CallbacksHandler.HandleToolEnd(ctx, out)
	return out, nil
}

// store is a vector store of two documents; a query containing
// "store-fail" fails.
type store struct{}

var docs = []schema.Document{
	{PageContent: "Paris is the capital of France.", Metadata: map[string]any{"src": "a"}, Score: 0.9},
	{PageContent: "France is in Europe.", Metadata: map[string]any{"src": "b"}, Score: 0.5},
}

func (store) AddDocuments(context.Context, []schema.Document, ...vectorstores.Option) ([]string, error) {
	return nil, nil
}

func (store) SimilaritySearch(_ context.Context, query string, n int, _ ...vectorstores.Option) ([]schema.Document, error) {
	if strings.Contains(query, "store-fail") {
		return nil, errors.New("index offline")
	}
	return docs[:min(n, len(docs))], nil
}

// noopHandler is a callbacks.Handler that does nothing, for a tool that
// calls back unconditionally.
type noopHandler struct{ callbacks.SimpleHandler }

package fteino_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/cloudwego/eino/callbacks"
	"github.com/cloudwego/eino/components"
	"github.com/cloudwego/eino/components/model"
	"github.com/cloudwego/eino/components/retriever"
	"github.com/cloudwego/eino/components/tool"
	"github.com/cloudwego/eino/schema"
)

// fakeModel is a chat model with canned answers that runs its own
// callbacks, as eino-ext's providers do: typed callback input with its
// config, typed output with TokenUsage, and a streamed output through
// callbacks.OnEndWithStreamOutput.
//
// Its answer: to a user message "weather in X", a call of the weather tool
// for X; to a tool's answer R, "It is R."; to anything else, "Answer:
// <last message>". Usage: 10 prompt tokens per input message, one
// completion token per word (or per tool call). A user message containing
// "boom" makes it fail; in a stream, after its first chunk.
type fakeModel struct{}

var _ model.ToolCallingChatModel = fakeModel{}

const fakeModelName = "fake-gpt"

func (fakeModel) GetType() string          { return "Fake" }
func (fakeModel) IsCallbacksEnabled() bool { return true }

func (m fakeModel) WithTools([]*schema.ToolInfo) (model.ToolCallingChatModel, error) { return m, nil }

var fakeConfig = &model.Config{Model: fakeModelName, Temperature: 0.5, MaxTokens: 256}

func (m fakeModel) Generate(ctx context.Context, in []*schema.Message, _ ...model.Option) (out *schema.Message, err error) {
	ctx = callbacks.EnsureRunInfo(ctx, m.GetType(), components.ComponentOfChatModel)
	ctx = callbacks.OnStart(ctx, &model.CallbackInput{Messages: in, Config: fakeConfig})
	out, u, err := answer(in)
	if err != nil {
		callbacks.OnError(ctx, err)
		return nil, err
	}
	callbacks.OnEnd(ctx, &model.CallbackOutput{Message: out, Config: fakeConfig, TokenUsage: u})
	return out, nil
}

func (m fakeModel) Stream(ctx context.Context, in []*schema.Message, _ ...model.Option) (*schema.StreamReader[*schema.Message], error) {
	ctx = callbacks.EnsureRunInfo(ctx, m.GetType(), components.ComponentOfChatModel)
	ctx = callbacks.OnStart(ctx, &model.CallbackInput{Messages: in, Config: fakeConfig})
	out, u, err := answer(in)
	var chunks []*model.CallbackOutput
	if out != nil && len(out.ToolCalls) > 0 {
		// A tool call comes first, split in two chunks joined by index.
		tc := out.ToolCalls[0]
		i := 0
		args := tc.Function.Arguments
		chunks = append(chunks,
			&model.CallbackOutput{Message: &schema.Message{Role: schema.Assistant, ToolCalls: []schema.ToolCall{{Index: &i, ID: tc.ID, Type: "function", Function: schema.FunctionCall{Name: tc.Function.Name, Arguments: args[:len(args)/2]}}}}},
			&model.CallbackOutput{Message: &schema.Message{Role: schema.Assistant, ToolCalls: []schema.ToolCall{{Index: &i, Function: schema.FunctionCall{Arguments: args[len(args)/2:]}}}}})
	} else {
		text := "Boom"
		if out != nil {
			text = out.Content
		}
		for i, w := range strings.SplitAfter(text, " ") {
			chunks = append(chunks, &model.CallbackOutput{Message: &schema.Message{Role: schema.Assistant, Content: w}, Config: fakeConfig})
			if err != nil && i == 0 {
				break
			}
		}
	}
	if err == nil {
		last := chunks[len(chunks)-1]
		last.TokenUsage = u
		last.Message.ResponseMeta = &schema.ResponseMeta{FinishReason: out.ResponseMeta.FinishReason}
	}
	sr, sw := schema.Pipe[*model.CallbackOutput](1)
	go func() {
		defer sw.Close()
		for _, c := range chunks {
			if sw.Send(c, nil) {
				return
			}
		}
		if err != nil {
			sw.Send(nil, err)
		}
	}()
	_, sr = callbacks.OnEndWithStreamOutput(ctx, sr)
	return schema.StreamReaderWithConvert(sr, func(o *model.CallbackOutput) (*schema.Message, error) { return o.Message, nil }), nil
}

var errBoom = errors.New("model: boom")

func answer(in []*schema.Message) (*schema.Message, *model.TokenUsage, error) {
	last := in[len(in)-1]
	if strings.Contains(last.Content, "boom") {
		return nil, nil, errBoom
	}
	var out *schema.Message
	completion := 0
	switch city, ok := strings.CutPrefix(last.Content, "weather in "); {
	case last.Role == schema.User && ok:
		args, _ := json.Marshal(map[string]string{"city": city})
		out = schema.AssistantMessage("", []schema.ToolCall{{ID: "call-1", Type: "function", Function: schema.FunctionCall{Name: "weather", Arguments: string(args)}}})
		out.ResponseMeta = &schema.ResponseMeta{FinishReason: "tool_calls"}
		completion = 1
	case last.Role == schema.Tool:
		out = schema.AssistantMessage("It is "+last.Content+".", nil)
	default:
		out = schema.AssistantMessage("Answer: "+last.Content, nil)
	}
	if out.ResponseMeta == nil {
		out.ResponseMeta = &schema.ResponseMeta{FinishReason: "stop"}
		completion = len(strings.Fields(out.Content))
	}
	return out, &model.TokenUsage{PromptTokens: 10 * len(in), CompletionTokens: completion, TotalTokens: 10*len(in) + completion,
		PromptTokenDetails: model.PromptTokenDetails{CachedTokens: 2}}, nil
}

// plainModel is a chat model without callbacks of its own: the graph runs
// them around it, with its messages, and its usage is in the response meta.
type plainModel struct{}

func (plainModel) Generate(_ context.Context, in []*schema.Message, _ ...model.Option) (*schema.Message, error) {
	out, u, err := answer(in)
	if err != nil {
		return nil, err
	}
	out.ResponseMeta.Usage = &schema.TokenUsage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens}
	return out, nil
}

func (m plainModel) Stream(ctx context.Context, in []*schema.Message, opts ...model.Option) (*schema.StreamReader[*schema.Message], error) {
	out, err := m.Generate(ctx, in, opts...)
	if err != nil {
		return nil, err
	}
	return schema.StreamReaderFromArray([]*schema.Message{out}), nil
}

// weatherTool answers "sunny in X"; for the city "nowhere" it fails.
type weatherTool struct{}

var _ tool.InvokableTool = weatherTool{}

var errNoCity = errors.New("weather: no such city")

func (weatherTool) Info(context.Context) (*schema.ToolInfo, error) {
	return &schema.ToolInfo{Name: "weather", Desc: "the weather in a city", ParamsOneOf: schema.NewParamsOneOfByParams(map[string]*schema.ParameterInfo{
		"city": {Type: schema.String, Required: true},
	})}, nil
}

func (weatherTool) InvokableRun(_ context.Context, args string, _ ...tool.Option) (string, error) {
	var in struct{ City string }
	if err := json.Unmarshal([]byte(args), &in); err != nil {
		return "", err
	}
	if in.City == "nowhere" {
		return "", errNoCity
	}
	return fmt.Sprintf("sunny in %s", in.City), nil
}

// fakeRetriever returns two documents about the query.
type fakeRetriever struct{}

func (fakeRetriever) Retrieve(_ context.Context, q string, _ ...retriever.Option) ([]*schema.Document, error) {
	return []*schema.Document{{ID: "d1", Content: "about " + q}, {ID: "d2", Content: "more on " + q}}, nil
}

type (
	modelOption     = model.Option
	toolBase        = tool.BaseTool
	callbackHandler = callbacks.Handler
)

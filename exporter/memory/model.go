package memory

import "github.com/flowtrace/flowtrace"

// ModelCall returns the component's model call: its ModelCalls merged in
// delivery order, later non-empty fields winning — an engine may record
// the request when the call starts and the answer when it ends. It is the
// zero ModelCall when none was recorded.
func (c Component) ModelCall() flowtrace.ModelCall {
	var m flowtrace.ModelCall
	for _, r := range c.ModelCalls {
		m = mergeCall(m, r.Call)
	}
	return m
}

func mergeCall(m, n flowtrace.ModelCall) flowtrace.ModelCall {
	if n.Model != "" {
		m.Model = n.Model
	}
	if n.Provider != "" {
		m.Provider = n.Provider
	}
	if n.ResponseID != "" {
		m.ResponseID = n.ResponseID
	}
	if n.ResponseModel != "" {
		m.ResponseModel = n.ResponseModel
	}
	m.Stream = m.Stream || n.Stream
	if len(n.Parameters) > 0 {
		m.Parameters = n.Parameters
	}
	if len(n.Input) > 0 {
		m.Input = n.Input
	}
	if len(n.Output) > 0 {
		m.Output = n.Output
	}
	if n.Usage != (flowtrace.Usage{}) {
		m.Usage = n.Usage
	}
	if n.Cost != 0 {
		m.Cost = n.Cost
	}
	if n.InputCost != 0 {
		m.InputCost = n.InputCost
	}
	if n.OutputCost != 0 {
		m.OutputCost = n.OutputCost
	}
	if len(n.FinishReasons) > 0 {
		m.FinishReasons = n.FinishReasons
	}
	if n.TimeToFirstChunk != 0 {
		m.TimeToFirstChunk = n.TimeToFirstChunk
	}
	return m
}

package dag

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/flowtrace/flowtrace"
)

// ResumeKey is the input key under which a paused node, run again by
// Resume, finds the decision it waited for.
const ResumeKey = "resume"

// errPaused marks the error a node returns to pause the run.
var errPaused = errors.New("dag: paused")

// Pause returns the error with which a node pauses its run, waiting for
// something outside the engine (a human approval): its dependents do not
// start, the run ends as paused with a Checkpoint, and Resume runs the
// node again with the decision in its inputs under ResumeKey.
func Pause(reason string) error { return fmt.Errorf("%w: %s", errPaused, reason) }

// Checkpoint is what a paused run leaves to be resumed, possibly by
// another process: plain data, marshalled as JSON.
type Checkpoint struct {
	Graph  string         `json:"graph"`
	Inputs map[string]any `json:"inputs,omitempty"`
	// Done holds the outputs of the nodes that finished, by node name.
	Done map[string]map[string]any `json:"done"`
	// Paused names the nodes waiting for a decision, and why.
	Paused map[string]string `json:"paused"`
	// Trace is the suspended run's flowtrace checkpoint (its trace, span,
	// session, user and sampling decision): the resumed run continues it.
	Trace flowtrace.Checkpoint `json:"trace"`
}

// Result is what a run produced.
type Result struct {
	RunID string
	// Outputs holds every finished node's outputs, by node name (those
	// of a resumed run's earlier runs included).
	Outputs map[string]map[string]any
	// Checkpoint is non-nil when the run paused.
	Checkpoint *Checkpoint
}

// Engine runs graphs, tracing each run with its TraceService. It keeps no
// state per run and is safe for concurrent use.
type Engine struct {
	svc *flowtrace.TraceService
	// endTimeout bounds how long the end of a run waits for its records
	// to be delivered, whatever became of the run's ctx.
	endTimeout time.Duration
}

// NewEngine returns an Engine tracing with svc.
func NewEngine(svc *flowtrace.TraceService) *Engine {
	return &Engine{svc: svc, endTimeout: 10 * time.Second}
}

// Run runs g with inputs as one flowtrace run described by info (its
// RunName defaults to the graph's name). It returns when every node has
// finished, failed, paused or been skipped, and the run's records have
// been delivered. The first node to fail cancels the others; its error,
// wrapped, is Run's and the run's. When ctx is done first, Run returns
// soon after with ctx's error.
func (e *Engine) Run(ctx context.Context, g *Graph, info flowtrace.RunInfo, inputs map[string]any) (*Result, error) {
	if g == nil {
		return nil, fmt.Errorf("%w: nil graph", ErrInvalidGraph)
	}
	if info.RunName == "" {
		info.RunName = g.name
	}
	info.Inputs = inputs
	return e.run(ctx, g, info, inputs, map[string]map[string]any{}, nil)
}

// Resume continues the run that left cp, giving decision to its paused
// nodes under ResumeKey, and running only the nodes that had not
// finished. It is a new flowtrace run, the continuation of the suspended
// one (RunStart.Resumed): in its trace and session, its span a child of
// the suspended run's.
//
// Why two runs rather than one run held open: a pause may last hours and
// outlive the process (a deploy, a crash), and a run lives in a process's
// memory until it ends. Ending it at the pause delivers everything it
// recorded now, holds nothing while waiting, and lets any process resume;
// the shared trace ID keeps both runs in one trace in a backend.
func (e *Engine) Resume(ctx context.Context, g *Graph, cp *Checkpoint, decision map[string]any) (*Result, error) {
	if g == nil {
		return nil, fmt.Errorf("%w: nil graph", ErrInvalidGraph)
	}
	if cp == nil || cp.Graph != g.name {
		return nil, fmt.Errorf("dag: checkpoint is not one of graph %q", g.name)
	}
	// Under the checkpoint, StartTracers starts the suspended run's
	// continuation: same trace, session and user.
	ctx = flowtrace.ContextWithCheckpoint(ctx, cp.Trace)
	info := flowtrace.RunInfo{RunName: g.name + " (resumed)", Inputs: map[string]any{ResumeKey: decision}}
	resume := map[string]map[string]any{}
	for name := range cp.Paused {
		resume[name] = decision
	}
	return e.run(ctx, g, info, cp.Inputs, maps.Clone(cp.Done), resume)
}

// node is one node's state during a run: written only by the node's own
// goroutine before it closes done, read by others only after.
type node struct {
	done    chan struct{}
	ok      bool // finished with outputs
	outputs map[string]any
	paused  string
}

func (e *Engine) run(ctx context.Context, g *Graph, info flowtrace.RunInfo, inputs map[string]any, done map[string]map[string]any, resume map[string]map[string]any) (*Result, error) {
	ctx, err := e.svc.StartTracers(ctx, info)
	if err != nil {
		return nil, err // the service was shut down
	}
	rc, _ := flowtrace.RunFromContext(ctx)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		mu       sync.Mutex
		firstErr error // the first failure: the run's error
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
	}

	state := make([]*node, len(g.nodes))
	for i, n := range g.nodes {
		state[i] = &node{done: make(chan struct{})}
		if out, ok := done[n.Name]; ok { // finished in an earlier run
			state[i].ok, state[i].outputs = true, out
			close(state[i].done)
		}
	}
	var wg sync.WaitGroup
	for i, n := range g.nodes {
		if _, ok := done[n.Name]; ok {
			continue
		}
		wg.Go(func() {
			st := state[i]
			defer close(st.done)
			in := maps.Clone(inputs)
			if in == nil {
				in = map[string]any{}
			}
			for _, d := range n.Deps {
				dep := state[g.index[d]]
				select {
				case <-dep.done:
				case <-runCtx.Done():
					return // cancelled: never started
				}
				if !dep.ok {
					return // a dependency failed, paused or was skipped
				}
				in[d] = dep.outputs
			}
			if r, ok := resume[n.Name]; ok {
				in[ResumeKey] = r
			}
			if runCtx.Err() != nil {
				return
			}
			st.outputs, st.paused, st.ok = e.runNode(runCtx, n, in, fail)
		})
	}
	wg.Wait()

	res := &Result{RunID: rc.RunID(), Outputs: map[string]map[string]any{}}
	paused := map[string]string{}
	for i, n := range g.nodes {
		if state[i].ok {
			res.Outputs[n.Name] = state[i].outputs
		}
		if state[i].paused != "" {
			paused[n.Name] = state[i].paused
		}
	}
	runErr := firstErr
	if ctx.Err() != nil {
		runErr = fmt.Errorf("run cancelled: %w", ctx.Err())
	}
	outputs := map[string]any{"nodes": len(res.Outputs)}
	// The run's ctx may be cancelled by now: end it with one that is not,
	// bounded, so that its last records are delivered all the same.
	endCtx, endCancel := context.WithTimeout(context.WithoutCancel(ctx), e.endTimeout)
	defer endCancel()
	if runErr == nil && len(paused) > 0 {
		// Suspended, not finished: the paused nodes' components, still
		// open, end suspended with it.
		outputs["paused"] = paused
		cp, _, endErr := e.svc.SuspendTracers(endCtx, outputs)
		res.Checkpoint = &Checkpoint{Graph: g.name, Inputs: inputs, Done: res.Outputs, Paused: paused, Trace: cp}
		return res, endErr
	}
	_, endErr := e.svc.EndTracers(endCtx, outputs, runErr)
	return res, errors.Join(runErr, endErr)
}

// runNode runs n as a component of the run in ctx. It reports the node's
// outputs, why it paused, and whether it finished.
func (e *Engine) runNode(ctx context.Context, n Node, in map[string]any, fail func(error)) (map[string]any, string, bool) {
	// The run's ctx, not a sibling's: parallel nodes are siblings.
	cctx, comp := e.svc.TraceComponent(ctx, flowtrace.ComponentInfo{Name: n.Name, Type: n.Type, Inputs: in})
	out, err := call(cctx, n, in)
	if errors.Is(err, errPaused) {
		reason := strings.TrimPrefix(err.Error(), errPaused.Error()+": ")
		flowtrace.SetOutputs(cctx, map[string]any{"paused": reason})
		// Left open: the run's suspension ends it as suspended, neither
		// failed nor finished.
		return nil, reason, false
	}
	if err != nil {
		err = fmt.Errorf("node %s: %w", n.Name, err)
		comp.End(err)
		fail(err)
		return nil, "", false
	}
	e.svc.SetOutputs(cctx, out)
	comp.End(nil)
	return out, "", true
}

// call runs n, turning a panic into its error: one node's bug fails its
// run, not the process with every other run in it.
func call(ctx context.Context, n Node, in map[string]any) (out map[string]any, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("panic: %v", p)
		}
	}()
	return n.Run(ctx, in)
}

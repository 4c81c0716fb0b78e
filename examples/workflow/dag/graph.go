// Package dag is a small workflow engine — a graph of nodes with
// dependencies — traced with flowtrace. It is an example to copy: the
// engine is short so that the few lines that trace it stand out.
//
// # Tracing, in four places
//
//   - Each run of a graph is a flowtrace run: StartTracers when it starts,
//     EndTracers once every node has finished and everything is delivered
//     (Engine.Run).
//   - Each node is a component, started with the run's ctx: nodes that run
//     in parallel are siblings under the run, whatever goroutine runs them.
//     A node's Run gets the ctx of its component, so what it records
//     (AddLog, SetOutputs, RecordModelCall, or components of its own, which
//     become its children) lands on it.
//   - A node's error is recorded on its component's End and, for the first
//     failure, on the run's end.
//   - A paused run saves the trace context in its Checkpoint (tracing.Inject
//     into a map); Engine.Resume extracts it (tracing.Extract) and starts a
//     second run in the same trace and session.
//
// A node that starts a goroutine outliving its Run (draining a stream,
// say) takes flowtrace.Hold(ctx) and releases it when the goroutine is done, so
// that EndTracers waits for it; the nodes here need none.
package dag

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidGraph reports a graph that New refuses.
var ErrInvalidGraph = errors.New("dag: invalid graph")

// Node is one step of a graph.
type Node struct {
	// Name identifies the node in its graph and names its component.
	Name string
	// Type is its component's type (flowtrace.TypeLLM, TypeTool...).
	Type string
	// Deps names the nodes that must finish before this one starts.
	Deps []string
	// Run does the work. Its inputs are the run's inputs plus, under each
	// dependency's name, that dependency's outputs. ctx carries the node's
	// component and is cancelled when another node fails or the run's ctx
	// is done. Returning an error made by Pause pauses the run (see
	// Engine.Resume).
	Run func(ctx context.Context, inputs map[string]any) (outputs map[string]any, err error)
}

// Graph is a validated set of nodes. It is immutable and safe for
// concurrent use: many runs of one Graph may execute at once. The zero
// value is an empty graph named "".
type Graph struct {
	name  string
	nodes []Node
	index map[string]int
}

// New returns the graph of nodes, or an error wrapping ErrInvalidGraph
// naming each problem: a node without a name or a Run, a duplicate name,
// an unknown or repeated dependency, a cycle.
func New(name string, nodes ...Node) (*Graph, error) {
	g := &Graph{name: name, nodes: make([]Node, len(nodes)), index: make(map[string]int, len(nodes))}
	var errs []error
	for i, n := range nodes {
		n.Deps = append([]string(nil), n.Deps...) // the caller may reuse its slice
		g.nodes[i] = n
		switch _, dup := g.index[n.Name]; {
		case n.Name == "":
			errs = append(errs, fmt.Errorf("%w: node %d has no name", ErrInvalidGraph, i))
		case dup:
			errs = append(errs, fmt.Errorf("%w: duplicate node %q", ErrInvalidGraph, n.Name))
		default:
			g.index[n.Name] = i
		}
		if n.Run == nil {
			errs = append(errs, fmt.Errorf("%w: node %q has no Run", ErrInvalidGraph, n.Name))
		}
	}
	for _, n := range g.nodes {
		seen := map[string]bool{}
		for _, d := range n.Deps {
			if _, ok := g.index[d]; !ok {
				errs = append(errs, fmt.Errorf("%w: node %q depends on unknown node %q", ErrInvalidGraph, n.Name, d))
			} else if seen[d] {
				errs = append(errs, fmt.Errorf("%w: node %q depends on %q twice", ErrInvalidGraph, n.Name, d))
			}
			seen[d] = true
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if cycle := g.cycle(); cycle != nil {
		return nil, fmt.Errorf("%w: cycle %s", ErrInvalidGraph, strings.Join(cycle, " -> "))
	}
	return g, nil
}

// Name returns the graph's name, which names its runs.
func (g *Graph) Name() string { return g.name }

// cycle returns a cycle of the graph as node names (first repeated last),
// or nil: a depth-first search for a dependency already on the path.
func (g *Graph) cycle() []string {
	const (
		unvisited = iota
		onPath
		finished
	)
	state := make([]int, len(g.nodes))
	var path []string
	var visit func(i int) []string
	visit = func(i int) []string {
		state[i] = onPath
		path = append(path, g.nodes[i].Name)
		for _, d := range g.nodes[i].Deps {
			j := g.index[d]
			switch state[j] {
			case onPath:
				for k, name := range path {
					if name == d {
						return append(append([]string(nil), path[k:]...), d)
					}
				}
			case unvisited:
				if c := visit(j); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		state[i] = finished
		return nil
	}
	for i := range g.nodes {
		if state[i] == unvisited {
			if c := visit(i); c != nil {
				return c
			}
		}
	}
	return nil
}

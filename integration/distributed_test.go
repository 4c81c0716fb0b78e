package integration_test

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flowtrace/flowtrace/integration/internal/jaegertest"
)

const (
	serviceA = "distributed-a"
	serviceB = "distributed-b"
	// exampleRuns is how many workflows the example runs: more than one, so
	// the test sees that runs do not share or cross-link traces.
	exampleRuns = 3
	// exampleTimeout bounds the example's whole run, flush included; it
	// takes about a second.
	exampleTimeout = 2 * time.Minute
)

var runLine = regexp.MustCompile(`^run (\S+) trace ([0-9a-f]{32})$`)

// TestDistributedExample runs examples/distributed against a real Jaeger and
// reads every run back from Jaeger's query API: one trace per run, holding
// the spans of both services, the callee's run span (a server span) a child
// of the caller's request (a client span) under its tool component span,
// OpenInference kinds and the session on every span.
func TestDistributedExample(t *testing.T) {
	j := jaegertest.Start(t)
	bin := buildExample(t)

	ctx, cancel := context.WithTimeout(context.Background(), exampleTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-runs", fmt.Sprint(exampleRuns))
	cmd.Env = append(jaegertest.WithoutOTelEnv(os.Environ()),
		"OTEL_EXPORTER_OTLP_ENDPOINT="+j.OTLPEndpoint())
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	require.NoError(t, err, "examples/distributed -runs %d\nstdout:\n%s\nstderr:\n%s", exampleRuns, &stdout, &stderr)
	// The example reports flowtrace's background failures (an export that
	// failed, events dropped) on stderr; a clean run prints nothing there.
	require.Empty(t, stderr.String(), "examples/distributed wrote to stderr")

	runs := parseRuns(t, stdout.String())
	require.Len(t, runs, exampleRuns, "run lines in the example's output:\n%s", &stdout)
	seen := map[string]string{}
	for _, r := range runs {
		prev, dup := seen[r.traceID]
		require.False(t, dup, "runs %s and %s share trace %s", prev, r.runID, r.traceID)
		seen[r.traceID] = r.runID
	}

	for _, r := range runs {
		t.Run("run "+r.runID, func(t *testing.T) {
			check := func(tr *jaegertest.Trace) error { return checkDistributedTrace(tr, r) }
			tr := j.WaitTrace(t, r.traceID, check)
			logTree(t, tr)
		})
	}

	if t.Failed() {
		return
	}
	// Spans are stored asynchronously: a trace that passed while later
	// exports were still queued in Jaeger is read once more, after every
	// run's trace was complete, so a stray span from another run or a
	// duplicate arriving late is caught too.
	for _, r := range runs {
		tr, err := j.Trace(context.Background(), r.traceID)
		require.NoError(t, err, "re-reading trace %s", r.traceID)
		require.NoError(t, checkDistributedTrace(tr, r), "trace %s on the second read", r.traceID)
	}
}

type exampleRun struct {
	runID, traceID string
}

func parseRuns(t *testing.T, out string) []exampleRun {
	t.Helper()
	var runs []exampleRun
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if m := runLine.FindStringSubmatch(strings.TrimSpace(sc.Text())); m != nil {
			runs = append(runs, exampleRun{runID: m[1], traceID: m[2]})
		}
	}
	require.NoError(t, sc.Err())
	return runs
}

// buildExample builds examples/distributed of the root module (../, with
// the root's own go.mod) into the test's temporary directory. Under -race the
// example is built with the race detector too: it runs its workflows
// concurrently across two services while exporting over OTLP, and a race it
// reports makes it exit non-zero, which fails the test.
func buildExample(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	bin := filepath.Join(t.TempDir(), "distributed")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./examples/distributed")...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build ./examples/distributed in %s:\n%s", root, out)
	return bin
}

// checkDistributedTrace returns nil when tr is the complete trace of run r,
// else an error naming the first thing missing or wrong.
func checkDistributedTrace(tr *jaegertest.Trace, r exampleRun) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	byService := map[string][]jaegertest.Span{}
	for _, s := range tr.Spans {
		svc := tr.ServiceName(s)
		byService[svc] = append(byService[svc], s)
		if svc != serviceA && svc != serviceB {
			bad("span %q from service %q, want only %s and %s", s.OperationName, svc, serviceA, serviceB)
		}
		if !jaegertest.SameTraceID(s.TraceID, r.traceID) {
			bad("span %q in trace %s", s.OperationName, s.TraceID)
		}
	}
	if len(byService[serviceA]) == 0 || len(byService[serviceB]) == 0 {
		return fmt.Errorf("%d spans of %s and %d of %s, want both services",
			len(byService[serviceA]), serviceA, len(byService[serviceB]), serviceB)
	}

	// One root: the caller's run span. Every other span's parent is in the
	// trace, so no span dangles and nothing is cut off into another trace.
	var roots []jaegertest.Span
	ids := map[string]bool{}
	for _, s := range tr.Spans {
		if ids[s.SpanID] {
			bad("span id %s twice", s.SpanID)
		}
		ids[s.SpanID] = true
	}
	for _, s := range tr.Spans {
		switch p := s.Parent(); {
		case p == "":
			roots = append(roots, s)
		case !ids[p]:
			bad("span %q (%s) has parent %s, not in the trace", s.OperationName, tr.ServiceName(s), p)
		}
	}
	if len(roots) != 1 {
		return errors.Join(append(errs, fmt.Errorf("%d root spans, want 1 (the caller's run)", len(roots)))...)
	}
	root := roots[0]
	if svc := tr.ServiceName(root); svc != serviceA {
		bad("root span %q from %s, want %s", root.OperationName, svc, serviceA)
	}
	if id, _ := root.Tag("flowtrace.run.id"); id != r.runID {
		bad("root span's flowtrace.run.id %q, want the printed run id %q", id, r.runID)
	}

	// The callee's run span: B's span whose parent is A's. There is one,
	// its parent is the caller's request under its tool component span, and it is a run of
	// its own whose parent run is the caller's.
	var calleeRuns []jaegertest.Span
	for _, s := range byService[serviceB] {
		p, _ := tr.SpanByID(s.Parent())
		if tr.ServiceName(p) == serviceA {
			calleeRuns = append(calleeRuns, s)
		}
	}
	if len(calleeRuns) != 1 {
		return errors.Join(append(errs, fmt.Errorf("%d spans of %s with a parent in %s, want 1 (the callee's run span)",
			len(calleeRuns), serviceB, serviceA))...)
	}
	callee := calleeRuns[0]
	// Between them, the request: the client component tracing.Transport
	// records under the tool component, a client span whose ID the request
	// named as its parent.
	request, _ := tr.SpanByID(callee.Parent())
	if typ, _ := request.Tag("flowtrace.component.type"); typ != "http.client" {
		bad("the callee's parent %q has flowtrace.component.type %q, want http.client (the request)", request.OperationName, typ)
	}
	if kind, _ := request.Tag("span.kind"); kind != "client" {
		bad("the request span %q has span.kind %q, want client", request.OperationName, kind)
	}
	if kind, _ := callee.Tag("span.kind"); kind != "server" {
		bad("the callee's run span %q has span.kind %q, want server", callee.OperationName, kind)
	}
	caller, _ := tr.SpanByID(request.Parent())
	if kind, _ := caller.Tag("openinference.span.kind"); kind != "TOOL" {
		bad("the callee's parent %q has openinference.span.kind %q, want TOOL (the tool component)", caller.OperationName, kind)
	}
	if typ, _ := caller.Tag("flowtrace.component.type"); typ != "tool" {
		bad("the callee's parent %q has flowtrace.component.type %q, want tool", caller.OperationName, typ)
	}
	if ref := callee.References; len(ref) != 1 || ref[0].RefType != "CHILD_OF" {
		bad("the callee's run span references %+v, want one CHILD_OF", ref)
	}
	calleeRunID, _ := callee.Tag("flowtrace.run.id")
	if calleeRunID == "" || calleeRunID == r.runID {
		bad("the callee's run id %q, want its own, not the caller's %q", calleeRunID, r.runID)
	}
	if parent, _ := callee.Tag("flowtrace.parent_run.id"); parent != r.runID {
		bad("the callee's flowtrace.parent_run.id %q, want the caller's run %q", parent, r.runID)
	}
	if kind, _ := callee.Tag("openinference.span.kind"); kind != "CHAIN" {
		bad("the callee's run span has openinference.span.kind %q, want CHAIN", kind)
	}

	// Run identity and conventions on every span, not only the roots.
	// The session is the caller's, on both sides: B's run inherits it
	// through baggage (the example asks the Transport to send it).
	wantRun := map[string]string{serviceA: r.runID, serviceB: calleeRunID}
	wantSession, _ := root.Tag("session.id")
	if wantSession == "" {
		bad("root span %q has no session.id", root.OperationName)
	}
	for _, s := range tr.Spans {
		svc := tr.ServiceName(s)
		if _, ok := s.Tag("openinference.span.kind"); !ok {
			bad("span %q (%s) has no openinference.span.kind", s.OperationName, svc)
		}
		if id, _ := s.Tag("session.id"); id != wantSession {
			bad("span %q (%s) has session.id %q, want the caller's %q", s.OperationName, svc, id, wantSession)
		}
		if id, _ := s.Tag("flowtrace.run.id"); id != wantRun[svc] {
			bad("span %q (%s) has flowtrace.run.id %q, want %q", s.OperationName, svc, id, wantRun[svc])
		}
	}
	// The model call of A's LLM component: model and token usage, as the
	// OpenInference llm.* keys backends render.
	llms := 0
	for _, s := range tr.Spans {
		if kind, _ := s.Tag("openinference.span.kind"); kind != "LLM" {
			continue
		}
		llms++
		for key, want := range map[string]string{"llm.model_name": "fake-llm", "llm.token_count.prompt": "42", "llm.token_count.completion": "7", "llm.token_count.total": "49"} {
			if got, _ := s.Tag(key); got != want {
				bad("LLM span %q has %s %q, want %q", s.OperationName, key, got, want)
			}
		}
	}
	if llms != 1 {
		bad("%d LLM spans, want 1", llms)
	}
	return errors.Join(errs...)
}

// logTree logs the trace as an indented tree, for the verbose output and for
// a failure's context.
func logTree(t *testing.T, tr *jaegertest.Trace) {
	t.Helper()
	children := map[string][]jaegertest.Span{}
	for _, s := range tr.Spans {
		children[s.Parent()] = append(children[s.Parent()], s)
	}
	for _, c := range children {
		slices.SortFunc(c, func(a, b jaegertest.Span) int { return cmp.Compare(a.StartTime, b.StartTime) })
	}
	var b strings.Builder
	var walk func(parent string, depth int)
	walk = func(parent string, depth int) {
		for _, s := range children[parent] {
			kind, _ := s.Tag("openinference.span.kind")
			fmt.Fprintf(&b, "%s%s [%s] %s %s\n", strings.Repeat("  ", depth), s.OperationName, kind, tr.ServiceName(s), s.SpanID)
			walk(s.SpanID, depth+1)
		}
	}
	walk("", 0)
	t.Logf("trace %s, %d spans:\n%s", tr.TraceID, len(tr.Spans), b.String())
}

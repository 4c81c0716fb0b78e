package jaegertest

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// startAttempts bounds how often Start picks new ports after Jaeger
	// exited during startup (another process took a port in between).
	startAttempts = 3
	// readyPolls and readyInterval bound the wait for /status to answer
	// 200: 600 × 100 ms, a minute, far beyond the second Jaeger takes.
	readyPolls    = 600
	readyInterval = 100 * time.Millisecond
	// stopGrace is how long Jaeger gets to exit after SIGTERM before it is
	// killed; the collector's shutdown normally takes well under a second.
	stopGrace = 20 * time.Second
)

// Jaeger is one running Jaeger process started by [Start] for one test.
// Its methods are safe for concurrent use. The zero value is not usable.
type Jaeger struct {
	ports  ports
	logs   *syncBuffer
	client *http.Client
}

// Binary returns the path of the jaeger executable of the integration
// module, building it when the build cache does not hold it yet. It runs
// `go tool -n jaeger` in the integration module's root: the tool's version
// is the one go.mod pins, and nothing is installed outside the build cache.
// The first build of Jaeger takes minutes; CI builds it once, before the
// tests, with the same command.
func Binary(t testing.TB) string {
	t.Helper()
	dir, err := moduleRoot()
	if err != nil {
		t.Fatalf("jaegertest: %v", err)
	}
	cmd := exec.Command("go", "tool", "-n", "jaeger")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("jaegertest: go tool -n jaeger in %s: %v\n%s", dir, err, stderr.String())
	}
	path := strings.TrimSpace(string(out))
	if path == "" || strings.ContainsAny(path, "\n ") {
		t.Fatalf("jaegertest: go tool -n jaeger printed %q, want one path", out)
	}
	return path
}

// moduleRoot finds the directory of the integration module's go.mod from the
// test's working directory (the package directory under go test).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(data, []byte("module github.com/flowtrace/flowtrace/integration\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of module github.com/flowtrace/flowtrace/integration above the working directory")
		}
		dir = parent
	}
}

// Start starts Jaeger for t and returns once its health check reports every
// component started. Jaeger is stopped in t.Cleanup, which waits for the
// process to exit; its output is printed when t has failed. Start fails t
// when Jaeger cannot be built or does not become ready within its bounds.
func Start(t testing.TB) *Jaeger {
	t.Helper()
	bin := Binary(t)
	logs := &syncBuffer{}
	t.Cleanup(func() {
		// Registered first, so it runs last: after the stop below, with
		// Jaeger's shutdown messages included.
		if t.Failed() {
			t.Logf("jaeger output:\n%s", logs.String())
		}
	})
	var lastErr error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		j, err := start(t, bin, logs, attempt)
		if err == nil {
			return j
		}
		lastErr = err
		if !errors.Is(err, errExited) {
			break
		}
		t.Logf("jaegertest: attempt %d: %v; retrying with new ports", attempt, err)
	}
	t.Fatalf("jaegertest: Jaeger did not start: %v", lastErr)
	return nil
}

var errExited = errors.New("jaeger exited during startup")

func start(t testing.TB, bin string, logs *syncBuffer, attempt int) (*Jaeger, error) {
	t.Helper()
	free, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	p := ports{otlpHTTP: free[0], queryHTTP: free[1], queryGRPC: free[2], health: free[3]}
	cfgPath := filepath.Join(t.TempDir(), "jaeger.yaml")
	if err := os.WriteFile(cfgPath, []byte(config(p)), 0o600); err != nil {
		return nil, fmt.Errorf("writing the config: %w", err)
	}
	fmt.Fprintf(logs, "--- attempt %d: %s --config %s\n%s---\n", attempt, bin, cfgPath, config(p))

	cmd := exec.Command(bin, "--config", cfgPath)
	cmd.Dir = filepath.Dir(cfgPath)
	cmd.Stdout = logs
	cmd.Stderr = logs
	// Jaeger reads OTEL_* variables for its own telemetry; a developer's
	// environment must not send it elsewhere.
	cmd.Env = withoutOTel(os.Environ())
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() { stop(t, cmd, exited) })

	j := &Jaeger{
		ports:  p,
		logs:   logs,
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}},
	}
	t.Cleanup(j.client.CloseIdleConnections)

	statusURL := "http://" + loopback(p.health) + "/status"
	for range readyPolls {
		select {
		case <-exited:
			return nil, fmt.Errorf("%w: %v", errExited, waitErr)
		default:
		}
		if j.healthy(statusURL) {
			return j, nil
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("%w: %v", errExited, waitErr)
		case <-time.After(readyInterval):
		}
	}
	return nil, fmt.Errorf("%s did not answer 200 within %d polls of %v", statusURL, readyPolls, readyInterval)
}

func (j *Jaeger) healthy(url string) bool {
	resp, err := j.client.Get(url)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stop asks Jaeger to shut down (SIGTERM, as the collector expects), waits
// for the process, and kills it if it has not exited within stopGrace.
func stop(t testing.TB, cmd *exec.Cmd, exited <-chan struct{}) {
	select {
	case <-exited:
		return
	default:
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Logf("jaegertest: SIGTERM: %v", err)
	}
	select {
	case <-exited:
		return
	case <-time.After(stopGrace):
	}
	t.Errorf("jaegertest: Jaeger did not exit %v after SIGTERM; killing it", stopGrace)
	_ = cmd.Process.Kill()
	<-exited
}

// OTLPEndpoint returns the base URL of the OTLP/HTTP receiver, the value for
// OTEL_EXPORTER_OTLP_ENDPOINT (exporters append /v1/traces).
func (j *Jaeger) OTLPEndpoint() string {
	return "http://" + loopback(j.ports.otlpHTTP)
}

// QueryURL returns the base URL of the query HTTP API and UI.
func (j *Jaeger) QueryURL() string {
	return "http://" + loopback(j.ports.queryHTTP)
}

// Logs returns Jaeger's output so far.
func (j *Jaeger) Logs() string {
	return j.logs.String()
}

func withoutOTel(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, "OTEL_") {
			out = append(out, kv)
		}
	}
	return out
}

// WithoutOTelEnv returns env without its OTEL_* variables, for starting a
// program whose OpenTelemetry configuration the test sets itself.
func WithoutOTelEnv(env []string) []string { return withoutOTel(env) }

// syncBuffer is a bytes.Buffer that Jaeger's output copier writes to while
// the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

package jaegertest

import (
	"fmt"
	"net"
	"strconv"
)

// ports are the loopback ports one Jaeger listens on. Every listener Jaeger
// would open by default (query gRPC, health check, the collector's own
// metrics) is either given a port here or disabled in the configuration, so
// two tests or two CI jobs on one machine never collide on a well-known port.
type ports struct {
	otlpHTTP  int
	queryHTTP int
	queryGRPC int
	health    int
}

// configYAML is the Jaeger v2 (OpenTelemetry Collector) configuration the
// harness runs. Its shape follows cmd/jaeger/config.yaml of Jaeger v1.76.0,
// reduced to what a test needs:
//   - the OTLP receiver with HTTP only (gRPC would open 4317);
//   - no batch processor, so spans reach storage without its 200 ms delay;
//   - memory storage, shared by the exporter and the query extension;
//   - the query extension's HTTP API (the one the UI and /api/traces use)
//     and its gRPC API, both on chosen ports, its self-tracing off;
//   - healthcheckv2, whose /status answers 200 only once every component,
//     receiver included, has reported itself started;
//   - the collector's own metrics off (level none), since their default
//     Prometheus reader listens on 8888.
const configYAML = `service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: info

extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: %[1]s
      status:
        enabled: true
        path: /status

  jaeger_query:
    enable_tracing: false
    storage:
      traces: memstore
    http:
      endpoint: %[2]s
    grpc:
      endpoint: %[3]s

  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000

receivers:
  otlp:
    protocols:
      http:
        endpoint: %[4]s

exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`

// config renders the configuration for p.
func config(p ports) string {
	return fmt.Sprintf(configYAML,
		loopback(p.health), loopback(p.queryHTTP), loopback(p.queryGRPC), loopback(p.otlpHTTP))
}

func loopback(port int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// freePorts asks the kernel for n distinct free ports on 127.0.0.1. The
// listeners are held until all n are chosen, so the ports are distinct; they
// are closed before Jaeger binds them, so another process may take one in
// between — Start retries with new ports when Jaeger exits during startup.
func freePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	out := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("jaegertest: choosing a free port: %w", err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSample(t *testing.T) {
	f, err := os.Open("testdata/sample.txt")
	require.NoError(t, err)
	defer f.Close()
	out, err := parse(f)
	require.NoError(t, err)
	assert.Equal(t, []string{"goos: linux", "goarch: amd64", "pkg: github.com/flowtrace/flowtrace", "cpu: AMD EPYC"}, out.machine)
	require.Len(t, out.benches, 34, "every result line")

	first := out.benches[0]
	assert.Equal(t, "Component/flowtrace/serial", first.name)
	assert.Equal(t, 2, first.procs)
	assert.Equal(t, 2000, first.n)
	assert.Equal(t, map[string]float64{"ns/op": 2809, "delivered": 1, "B/op": 1229, "allocs/op": 9}, first.metrics)

	var tp bench
	for _, b := range out.benches {
		if b.name == "Throughput/flowtrace/default" {
			tp = b
		}
	}
	assert.InDelta(t, 403328, tp.metrics["comps/s"], 0.5)
	assert.InDelta(t, 0.00945, tp.metrics["dropped"], 1e-9)
	assert.Equal(t, "Scrubbing/secrets=16", out.benches[len(out.benches)-1].name)
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"odd fields", "BenchmarkX-2 100 5 ns/op 3\n", "line 1"},
		{"bad iterations", "BenchmarkX-2 many 5 ns/op\n", "iterations"},
		{"bad value", "goos: linux\nBenchmarkX-2 100 fast ns/op\n", "line 2: value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(strings.NewReader(tc.in))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	out, err := parse(strings.NewReader("BenchmarkLogs\n    x_test.go:1: hello\nBenchmarkLogs 10 5 ns/op\nPASS\n"))
	require.NoError(t, err, "a bare name line and logs are skipped")
	require.Len(t, out.benches, 1)
	assert.Equal(t, "Logs", out.benches[0].name)
	assert.Equal(t, 1, out.benches[0].procs)
}

func TestRenderPairsAndRatios(t *testing.T) {
	rep := func(ft, sdk string) output {
		o, err := parse(strings.NewReader("goos: linux\n" +
			"BenchmarkComponent/flowtrace/serial-2 100 " + ft + " ns/op 0.5 dropped 10 B/op 2 allocs/op\n" +
			"BenchmarkComponent/otel-sdk/serial-2 100 " + sdk + " ns/op 0.25 dropped 20 B/op 4 allocs/op\n" +
			"BenchmarkNoRun/flowtrace-2 100 8 ns/op 2 ns/call 0 B/op 0 allocs/op\n"))
		require.NoError(t, err)
		return o
	}
	got := render([]output{rep("100", "200"), rep("300", "200"), rep("150", "100")}, 3, ".", "1x", []string{"heap: 1 B"})
	assert.Contains(t, got, "| Component/serial | 150 ns, 10 B, 2 allocs | 200 ns, 20 B, 4 allocs | 1.50 (0.50–1.50) | 0.50 (0.50–0.50) |")
	assert.Contains(t, got, "| Component/serial · dropped | 50.00% | 25.00% | 2.00 (2.00–2.00) | |")
	assert.Contains(t, got, "| NoRun | 8.0 ns, 0 B, 0 allocs | — | — | — |")
	assert.Contains(t, got, "| NoRun · ns/call | 2.0 ns | — | — | |")
	assert.Contains(t, got, "    goos: linux\n")
	assert.Contains(t, got, "    heap: 1 B\n")
}

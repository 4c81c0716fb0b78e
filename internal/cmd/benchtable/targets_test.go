package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTargetsJudgeWhatWasMeasured(t *testing.T) {
	rep := func(comp string) output {
		o, err := parse(strings.NewReader("" +
			"BenchmarkComponent/flowtrace/serial-2 100 " + comp + " ns/op 10 B/op 2 allocs/op\n" +
			"BenchmarkComponent/otel-sdk/serial-2 100 200 ns/op 20 B/op 11 allocs/op\n" +
			"BenchmarkComponent/flowtrace/parallel-2 100 90 ns/op 10 B/op 2 allocs/op\n" +
			"BenchmarkComponent/otel-sdk/parallel-2 100 200 ns/op 20 B/op 11 allocs/op\n" +
			"BenchmarkOTLPExport/flowtrace-2 100 900 ns/op 70 cpu-ns/span 10 B/op 2 allocs/op\n" +
			"BenchmarkOTLPExport/otel-sdk-2 100 1000 ns/op 200 cpu-ns/span 20 B/op 11 allocs/op\n" +
			"BenchmarkNoRun/flowtrace/serial-2 100 30 ns/op 7.5 ns/call 0 B/op 0 allocs/op\n" +
			"BenchmarkNoRun/flowtrace/parallel-2 100 60 ns/op 15 ns/call 0 B/op 0 allocs/op\n"))
		require.NoError(t, err)
		return o
	}
	figures := []string{
		"heap per open run (100000 open, one component each): 656 B, 2.0 objects",
		"goroutines: 3 with one run open, 3 with 2000 more",
		"     1 runs open at once:   1000 ns,  2.00 allocs per component",
		"    10 runs open at once:   1100 ns,  2.00 allocs per component",
		" 10000 runs open at once:   1250 ns,  2.00 allocs per component",
	}
	got := renderTargets(newMeasured([]output{rep("100"), rep("80"), rep("120")}, figures, []float64{0.3, 0.5, 0.35}))
	lines := strings.Split(got, "\n")
	find := func(prefix string) string {
		for _, l := range lines {
			if strings.HasPrefix(l, "| "+prefix) {
				return l
			}
		}
		t.Fatalf("no line for %q in\n%s", prefix, got)
		return ""
	}
	assert.Contains(t, find("OTLP export"), "OTLPExport 0.35× (0.35–0.35) | **missed** |")
	assert.Contains(t, find("traced request"), "0.35× (0.30–0.50) | met |")
	assert.Contains(t, find("heap per open run"), "656 B in 2.0 objects; goroutines 3 → 3 | met |")
	assert.Contains(t, find("one component"), "Component/serial 0.50× (0.40–0.60); Component/parallel 0.45× (0.45–0.45); Component/serial 2 allocs | met |")
	assert.Contains(t, find("a run of ten"), "not measured in this run")
	assert.Contains(t, find("flat"), "+0% to +25% of the cost with one run open (1 to 10,000 open) | **missed** |")
	assert.Contains(t, find("no run"), "not measured in this run", "a missing part makes the whole target unmeasured")
}

func TestParseOverhead(t *testing.T) {
	ratios, rest, err := parseOverhead([]byte("| table |\nratios: 0.31 0.40 0.28\n"))
	require.NoError(t, err)
	assert.Equal(t, []float64{0.31, 0.40, 0.28}, ratios)
	assert.Equal(t, "| table |\n", rest)
	_, _, err = parseOverhead([]byte("nothing\n"))
	assert.ErrorContains(t, err, "no \"ratios:\" line")
	_, _, err = parseOverhead([]byte("ratios: 0.3 x\n"))
	assert.ErrorContains(t, err, `ratio "x"`)
}

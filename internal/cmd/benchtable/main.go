// Command benchtable runs flowtrace's benchmarks against the OpenTelemetry
// SDK several times and prints a markdown table of medians, spreads and
// flowtrace/SDK ratios, with the machine it ran on.
//
//	go run ./internal/cmd/benchtable [-count 6] [-bench regexp] [-benchtime 200ms] [-overhead off]
//
// It runs `go test -run '^$' -bench ... -count 1 -benchmem` count times in a
// loop, so that each repetition measures flowtrace and the SDK side by side
// under the same machine load, and pairs them within it: a sub-benchmark
// named flowtrace is paired with the one of the same name with otel-sdk in
// its place. Ratios are flowtrace over the SDK, the median of the paired
// repetitions with their min–max. With -scale it also runs the scale tests
// once and prints the figures they log; unless -overhead is off, it runs
// the end-to-end program internal/cmd/overhead. Last it prints each of the
// performance targets with what was measured and whether it was met.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

func main() {
	count := flag.Int("count", 6, "repetitions, each a whole go test -bench run")
	benchRe := flag.String("bench", defaultBench, "benchmarks to run (go test -bench)")
	benchtime := flag.String("benchtime", "200ms", "go test -benchtime")
	pkgs := flag.String("pkg", ". ./exporter/otelspans ./tracing", "packages whose benchmarks to run, separated by spaces")
	scale := flag.Bool("scale", true, "also run the root package's scale tests once (go test -run TestScale -v) and print their figures")
	overhead := flag.String("overhead", "-rounds 5", "also run the end-to-end program (go run ./internal/cmd/overhead) with these flags; \"off\" skips it")
	flag.Parse()
	if *count < 1 {
		fmt.Fprintln(os.Stderr, "benchtable: -count must be at least 1")
		os.Exit(2)
	}
	var reps []output
	for i := range *count {
		fmt.Fprintf(os.Stderr, "benchtable: repetition %d of %d\n", i+1, *count)
		args := []string{"-run", "^$", "-bench", *benchRe, "-benchtime", *benchtime, "-count", "1", "-benchmem"}
		out, err := goTest(append(args, strings.Fields(*pkgs)...)...)
		if err != nil {
			fail(err)
		}
		o, err := parse(bytes.NewReader(out))
		if err != nil {
			fail(err)
		}
		reps = append(reps, o)
	}
	var figures []string
	if *scale {
		out, err := goTest("-run", "^TestScale", "-v", "-count", "1", ".")
		if err != nil {
			fail(err)
		}
		figures = scaleFigures(out)
	}
	var ratios []float64
	var report string
	if *overhead != "off" {
		fmt.Fprintln(os.Stderr, "benchtable: go run ./internal/cmd/overhead", *overhead)
		cmd := exec.Command("go", append([]string{"run", "./internal/cmd/overhead"}, strings.Fields(*overhead)...)...)
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			fail(fmt.Errorf("go run ./internal/cmd/overhead: %w\n%s", err, out))
		}
		if ratios, report, err = parseOverhead(out); err != nil {
			fail(err)
		}
	}
	fmt.Print(render(reps, *count, *benchRe, *benchtime, figures))
	if report != "" {
		fmt.Printf("\nEnd to end (go run ./internal/cmd/overhead %s):\n\n%s", *overhead, report)
	}
	fmt.Print(renderTargets(newMeasured(reps, figures, ratios)))
}

// goTest runs go test with args, its stderr passed through, and returns its
// stdout; a failure returns the output too, to see why.
func goTest(args ...string) ([]byte, error) {
	cmd := exec.Command("go", append([]string{"test"}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go test %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return out, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchtable:", err)
	os.Exit(1)
}

// scaleFigures returns the lines the scale tests logged, without their
// file:line prefix.
func scaleFigures(out []byte) []string {
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimSpace(l)
		if i := strings.Index(l, "_test.go:"); i > 0 {
			if j := strings.Index(l[i:], ": "); j > 0 {
				lines = append(lines, l[i+j+2:])
			}
		}
	}
	return lines
}

// machineLines returns the machine's description: the configuration lines
// of the first repetition and the CPUs this process sees.
func machineLines(reps []output) []string {
	var lines []string
	if len(reps) > 0 {
		lines = append(lines, reps[0].machine...)
	}
	procs := 0
	if len(reps) > 0 && len(reps[0].benches) > 0 {
		procs = reps[0].benches[0].procs
	}
	return append(lines, fmt.Sprintf("NumCPU: %d, GOMAXPROCS of the benchmarks: %d, %s", runtime.NumCPU(), procs, runtime.Version()))
}

// defaultBench selects the benchmarks of the performance table.
const defaultBench = "^Benchmark(Component|Run10|Throughput|OTelBridge|SpanContext|Disabled|NoRun|Unsampled|OTLPExport|HTTPRequest)$"

// parseOverhead returns the per-round ratios the end-to-end program
// printed on its "ratios:" line, and the rest of its output, its table.
func parseOverhead(out []byte) ([]float64, string, error) {
	var ratios []float64
	var rest strings.Builder
	found := false
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		f, ok := strings.CutPrefix(l, "ratios:")
		if !ok {
			rest.WriteString(l + "\n")
			continue
		}
		found = true
		for _, v := range strings.Fields(f) {
			r, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, "", fmt.Errorf("overhead: ratio %q: %w", v, err)
			}
			ratios = append(ratios, r)
		}
	}
	if !found {
		return nil, "", fmt.Errorf("overhead: no \"ratios:\" line in its output")
	}
	return ratios, rest.String(), nil
}

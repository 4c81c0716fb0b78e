package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// output is one `go test -bench` run's output, parsed.
type output struct {
	// machine holds the goos, goarch, pkg and cpu lines, as printed.
	machine []string
	benches []bench
}

// bench is one benchmark result line.
type bench struct {
	// name is the benchmark's name without its GOMAXPROCS suffix.
	name    string
	procs   int
	n       int
	metrics map[string]float64 // by unit: ns/op, B/op, allocs/op, custom ones
}

// parse reads the standard benchmark output of go test (the format
// golang.org/x/perf/benchfmt reads): configuration lines "key: value" and
// result lines "BenchmarkName-P N value unit [value unit...]". Other lines
// (PASS, ok, logs) are skipped. A result line that does not parse is an
// error naming the line.
func parse(r io.Reader) (output, error) {
	var out output
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		switch {
		case strings.HasPrefix(text, "Benchmark"):
			f := strings.Fields(text)
			if len(f) < 4 || len(f)%2 != 0 {
				// A benchmark's name printed before its result, when it
				// logs or fails: not a result line.
				if len(f) == 1 {
					continue
				}
				return out, fmt.Errorf("line %d: not a benchmark result: %q", line, text)
			}
			b := bench{name: f[0], procs: 1, metrics: map[string]float64{}}
			if i := strings.LastIndexByte(b.name, '-'); i > 0 {
				if p, err := strconv.Atoi(b.name[i+1:]); err == nil {
					b.name, b.procs = b.name[:i], p
				}
			}
			b.name = strings.TrimPrefix(b.name, "Benchmark")
			n, err := strconv.Atoi(f[1])
			if err != nil {
				return out, fmt.Errorf("line %d: iterations %q: %w", line, f[1], err)
			}
			b.n = n
			for i := 2; i < len(f); i += 2 {
				v, err := strconv.ParseFloat(f[i], 64)
				if err != nil {
					return out, fmt.Errorf("line %d: value %q: %w", line, f[i], err)
				}
				b.metrics[f[i+1]] = v
			}
			out.benches = append(out.benches, b)
		case strings.HasPrefix(text, "goos:"), strings.HasPrefix(text, "goarch:"),
			strings.HasPrefix(text, "pkg:"), strings.HasPrefix(text, "cpu:"):
			out.machine = append(out.machine, text)
		}
	}
	return out, sc.Err()
}

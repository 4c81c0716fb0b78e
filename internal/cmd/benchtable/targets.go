package main

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// measured is everything the targets are judged on: the benchmarks'
// series, the scale tests' figures and, when it ran, the end-to-end
// program's ratios.
type measured struct {
	series   map[string]*series
	figures  []string
	overhead []float64 // flowtrace/OTel added CPU per request, one per round
}

func newMeasured(reps []output, figures []string, overhead []float64) measured {
	m := measured{series: map[string]*series{}, figures: figures, overhead: overhead}
	for _, s := range collect(reps) {
		m.series[s.name] = s
	}
	return m
}

// verdict is one target's line: what was measured, and whether it met
// the target; ok is false when the figures it needs are missing.
type verdict struct {
	measured string
	met, ok  bool
}

// target is one of the performance issue's targets.
type target struct {
	what  string
	judge func(m measured) verdict
}

// targets are the performance targets, in the order.
var targets = []target{
	{"OTLP export (NewOTLP to a local server, a run of ten components, recording included): CPU per span ≤ 0.30× the SDK's own OTLP/HTTP exporter",
		ratioAtMost("OTLPExport", "cpu-ns/span", 0.30)},
	{"traced request end to end (internal/cmd/overhead): added CPU ≤ 0.40× plain OpenTelemetry's",
		func(m measured) verdict {
			if len(m.overhead) == 0 {
				return verdict{}
			}
			med, _ := median(m.overhead)
			return verdict{fmt.Sprintf("%.2f× (%.2f–%.2f)", med, slices.Min(m.overhead), slices.Max(m.overhead)), med <= 0.40, true}
		}},
	{"heap per open run (one open component, after GC): ≤ 700 B in ≤ 3 objects, no goroutine per run", heap},
	{"one component: ≤ 0.50× the SDK's time, ≤ 2 allocations",
		all(ratioAtMost("Component/serial", "ns/op", 0.50), ratioAtMost("Component/parallel", "ns/op", 0.50),
			valueAtMost("Component/serial", "allocs/op", 2, "%.0f allocs"))},
	{"a run of ten: ≤ 0.50× the SDK's time",
		all(ratioAtMost("Run10/serial", "ns/op", 0.50), ratioAtMost("Run10/parallel", "ns/op", 0.50))},
	{"through the bridge (otelspans.New(tp)): ≤ 1.15× the SDK's CPU, serial and parallel",
		all(ratioAtMost("OTelBridge/serial", "cpu-ns/op", 1.15), ratioAtMost("OTelBridge/parallel", "cpu-ns/op", 1.15))},
	{"flat: cost per component within ±20% from 1 to 10,000 open runs", flat},
	{"no run, disabled, unsampled: ≤ 10 ns per call and no allocation, serial and parallel",
		all(cheap("NoRun/serial"), cheap("NoRun/parallel"), cheap("Disabled/serial"), cheap("Disabled/parallel"),
			cheap("Unsampled/serial"), cheap("Unsampled/parallel"))},
}

// ratioAtMost judges the median flowtrace/SDK ratio of a case's unit.
func ratioAtMost(name, unit string, limit float64) func(measured) verdict {
	return func(m measured) verdict {
		s := m.series[name]
		if s == nil {
			return verdict{}
		}
		med, lo, hi, ok := ratio(s.get(implFlowtrace, unit), s.get(implSDK, unit))
		if !ok {
			return verdict{}
		}
		return verdict{fmt.Sprintf("%s %.2f× (%.2f–%.2f)", name, med, lo, hi), med <= limit, true}
	}
}

// valueAtMost judges the median of flowtrace's own value of a case's unit.
func valueAtMost(name, unit string, limit float64, layout string) func(measured) verdict {
	return func(m measured) verdict {
		s := m.series[name]
		if s == nil {
			return verdict{}
		}
		v, ok := median(s.get(implFlowtrace, unit))
		if !ok {
			return verdict{}
		}
		return verdict{name + " " + fmt.Sprintf(layout, v), v <= limit, true}
	}
}

// cheap judges a cheap path: ns/call ≤ 10 and no allocation.
func cheap(name string) func(measured) verdict {
	return func(m measured) verdict {
		s := m.series[name]
		if s == nil {
			return verdict{}
		}
		ns, ok1 := median(s.get(implFlowtrace, "ns/call"))
		allocs, ok2 := median(s.get(implFlowtrace, "allocs/op"))
		if !ok1 || !ok2 {
			return verdict{}
		}
		return verdict{fmt.Sprintf("%s %.1f ns, %.0f allocs", name, ns, allocs), ns <= 10 && allocs == 0, true}
	}
}

// all joins verdicts: met when every part is, ok when every part is.
func all(parts ...func(measured) verdict) func(measured) verdict {
	return func(m measured) verdict {
		out := verdict{met: true, ok: true}
		var texts []string
		for _, p := range parts {
			v := p(m)
			if !v.ok {
				return verdict{}
			}
			texts = append(texts, v.measured)
			out.met = out.met && v.met
		}
		out.measured = strings.Join(texts, "; ")
		return out
	}
}

var (
	heapLine = regexp.MustCompile(`^heap per open run \(.*\): ([0-9.]+) B, ([0-9.]+) objects`)
	goLine   = regexp.MustCompile(`^goroutines: ([0-9]+) with one run open, ([0-9]+) with ([0-9]+) more`)
	openLine = regexp.MustCompile(`^\s*([0-9]+) runs open at once:\s*([0-9.]+) ns`)
)

// heap judges the scale test's heap per open run and goroutine count.
func heap(m measured) verdict {
	var b, objs float64
	g0, g1 := -1, -1
	for _, f := range m.figures {
		if s := heapLine.FindStringSubmatch(f); s != nil {
			b, _ = strconv.ParseFloat(s[1], 64)
			objs, _ = strconv.ParseFloat(s[2], 64)
		}
		if s := goLine.FindStringSubmatch(f); s != nil {
			g0, _ = strconv.Atoi(s[1])
			g1, _ = strconv.Atoi(s[2])
		}
	}
	if b == 0 || g0 < 0 {
		return verdict{}
	}
	return verdict{fmt.Sprintf("%s B in %.1f objects; goroutines %d → %d", thousands(b), objs, g0, g1),
		b <= 700 && objs <= 3 && g1-g0 < 10, true}
}

// flat judges the cost per component with 1 to 10,000 runs open against
// its cost with one run open.
func flat(m measured) verdict {
	var opens []int
	ns := map[int]float64{}
	for _, f := range m.figures {
		if s := openLine.FindStringSubmatch(f); s != nil {
			n, _ := strconv.Atoi(s[1])
			v, _ := strconv.ParseFloat(s[2], 64)
			opens = append(opens, n)
			ns[n] = v
		}
	}
	base, ok := ns[1]
	if !ok || base == 0 || len(opens) < 2 {
		return verdict{}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, n := range opens {
		d := ns[n]/base - 1
		lo, hi = min(lo, d), max(hi, d)
	}
	return verdict{fmt.Sprintf("%+.0f%% to %+.0f%% of the cost with one run open (1 to %s open)", 100*lo, 100*hi, thousands(float64(slices.Max(opens)))),
		lo >= -0.20 && hi <= 0.20, true}
}

// renderTargets prints the targets' table.
func renderTargets(m measured) string {
	var b strings.Builder
	b.WriteString("\n| target | measured | |\n|---|---|---|\n")
	for _, t := range targets {
		v := t.judge(m)
		switch {
		case !v.ok:
			fmt.Fprintf(&b, "| %s | not measured in this run | — |\n", t.what)
		case v.met:
			fmt.Fprintf(&b, "| %s | %s | met |\n", t.what, v.measured)
		default:
			fmt.Fprintf(&b, "| %s | %s | **missed** |\n", t.what, v.measured)
		}
	}
	return b.String()
}

package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// The two sides of a comparison, as the benchmarks name their
// sub-benchmarks.
const (
	implFlowtrace = "flowtrace"
	implSDK       = "otel-sdk"
)

// splitImpl returns a benchmark's case (its name without the flowtrace or
// otel-sdk element) and which of the two it is. A benchmark without either
// is flowtrace's alone.
func splitImpl(name string) (caseName, impl string) {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		if p == implFlowtrace || p == implSDK {
			return strings.Join(slices.Delete(parts, i, i+1), "/"), p
		}
	}
	return name, implFlowtrace
}

// series holds one case's measurements: by side, by unit, one value per
// repetition (NaN where a repetition lacks it).
type series struct {
	name  string
	units []string // the standard ones first, then by name
	vals  map[string]map[string][]float64
}

func (s *series) get(impl, unit string) []float64 { return s.vals[impl][unit] }

// collect groups the repetitions' results by case, in the order first seen.
func collect(reps []output) []*series {
	var order []*series
	byName := map[string]*series{}
	for r, o := range reps {
		for _, b := range o.benches {
			c, impl := splitImpl(b.name)
			s := byName[c]
			if s == nil {
				s = &series{name: c, vals: map[string]map[string][]float64{}}
				byName[c] = s
				order = append(order, s)
			}
			if s.vals[impl] == nil {
				s.vals[impl] = map[string][]float64{}
			}
			for unit, v := range b.metrics {
				if !slices.Contains(s.units, unit) {
					s.units = append(s.units, unit)
				}
				vs := s.vals[impl][unit]
				for len(vs) < len(reps) {
					vs = append(vs, math.NaN())
				}
				vs[r] = v
				s.vals[impl][unit] = vs
			}
		}
	}
	for _, s := range order {
		slices.SortFunc(s.units, func(a, b string) int {
			if d := unitRank(a) - unitRank(b); d != 0 {
				return d
			}
			return strings.Compare(a, b)
		})
	}
	return order
}

// unitRank puts the standard units first.
func unitRank(u string) int {
	switch u {
	case "ns/op":
		return 0
	case "B/op":
		return 1
	case "allocs/op":
		return 2
	}
	return 3
}

// median returns the median of the values that are not NaN, and whether
// there were any.
func median(vs []float64) (float64, bool) {
	var xs []float64
	for _, v := range vs {
		if !math.IsNaN(v) {
			xs = append(xs, v)
		}
	}
	if len(xs) == 0 {
		return 0, false
	}
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2], true
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2, true
}

// ratio returns the median, min and max of a/b over the repetitions where
// both have a value and b is not zero.
func ratio(a, b []float64) (med, lo, hi float64, ok bool) {
	var rs []float64
	for i := range min(len(a), len(b)) {
		if !math.IsNaN(a[i]) && !math.IsNaN(b[i]) && b[i] != 0 {
			rs = append(rs, a[i]/b[i])
		}
	}
	if len(rs) == 0 {
		return 0, 0, 0, false
	}
	med, _ = median(rs)
	return med, slices.Min(rs), slices.Max(rs), true
}

// format writes a value in its unit, briefly.
func format(unit string, v float64) string {
	switch unit {
	case "ns/op", "ns/call", "cpu-ns/op", "cpu-ns/span":
		return duration(v)
	case "B/op":
		return fmt.Sprintf("%s B", thousands(v))
	case "allocs/op":
		return fmt.Sprintf("%s allocs", thousands(v))
	case "comps/s":
		return fmt.Sprintf("%.0fk/s", v/1000)
	case "dropped":
		return fmt.Sprintf("%.2f%%", 100*v)
	case "delivered":
		return fmt.Sprintf("%.4f", v)
	}
	return fmt.Sprintf("%.4g %s", v, unit)
}

func duration(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.2f s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.1f ms", ns/1e6)
	case ns >= 1e4:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	case ns >= 100:
		return fmt.Sprintf("%s ns", thousands(ns))
	}
	return fmt.Sprintf("%.1f ns", ns)
}

// thousands formats v rounded, with thousands separators.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// cell formats one side's medians of the given units, or a dash.
func cell(s *series, impl string, units ...string) string {
	var parts []string
	for _, u := range units {
		if m, ok := median(s.get(impl, u)); ok {
			parts = append(parts, format(u, m))
		}
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, ", ")
}

// ratioCell formats flowtrace/SDK for a unit, or a dash.
func ratioCell(s *series, unit string) string {
	med, lo, hi, ok := ratio(s.get(implFlowtrace, unit), s.get(implSDK, unit))
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.2f (%.2f–%.2f)", med, lo, hi)
}

// render prints the table of the repetitions, with the machine and the
// command, and the scale figures if any.
func render(reps []output, count int, benchRe, benchtime string, figures []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured with `go run ./internal/cmd/benchtable -count %d -bench '%s' -benchtime %s`\n", count, benchRe, benchtime)
	fmt.Fprintf(&b, "(medians of %d repetitions; ratios are flowtrace/SDK per repetition, median (min–max)):\n\n", len(reps))
	for _, l := range machineLines(reps) {
		fmt.Fprintf(&b, "    %s\n", l)
	}
	b.WriteString("\n| case | flowtrace | OTel SDK | time ratio | allocs ratio |\n|---|---|---|---|---|\n")
	for _, s := range collect(reps) {
		std := []string{"ns/op", "B/op", "allocs/op"}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", s.name,
			cell(s, implFlowtrace, std...), cell(s, implSDK, std...), ratioCell(s, "ns/op"), ratioCell(s, "allocs/op"))
		for _, u := range s.units {
			if unitRank(u) < 3 {
				continue
			}
			fmt.Fprintf(&b, "| %s · %s | %s | %s | %s | |\n", s.name, u,
				cell(s, implFlowtrace, u), cell(s, implSDK, u), ratioCell(s, u))
		}
	}
	if len(figures) > 0 {
		b.WriteString("\nScale and memory (go test -run '^TestScale' -v, one run):\n\n")
		for _, f := range figures {
			fmt.Fprintf(&b, "    %s\n", f)
		}
	}
	return b.String()
}

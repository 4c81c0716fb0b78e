// Command overhead measures what tracing a request costs end to end: the
// CPU that flowtrace, and plain OpenTelemetry doing the same, add to two
// services answering requests, per request, over the same services
// untraced.
//
//	go run ./internal/cmd/overhead [-rounds 5] [-duration 2s] [-rate 1000] [-clients 8] [-cpuprofile prefix]
//
// Everything runs in this one process, on 127.0.0.1: service A answers a
// question (a plan, a call to service B for documents, a model's answer,
// JSON out); service B searches (JSON out). A load generator sends A -rate
// requests per second in all from -clients goroutines, each paced by a
// ticker, for -duration. A stand-in OpenTelemetry Collector accepts OTLP/HTTP
// protobuf and answers 200. Three variants serve the same requests:
//
//   - untraced: the services as they are;
//   - otel: plain OpenTelemetry — otelhttp on both servers and on A's
//     client, the SDK's batch processor, otlptracehttp with gzip, and the
//     OpenInference attributes flowtrace writes set by hand (span kinds,
//     session and user, inputs and outputs as JSON, the model call's llm.*
//     keys and token counts, a log as an event);
//   - flowtrace: traced the way the README shows — tracing.Middleware on
//     both services, three components and a model call with usage in A,
//     the call to B through tracing.Transport (B continues the run with a
//     component of its own), otelspans.NewOTLP with gzip in each service.
//
// Both traced variants send 7 spans per request, in one trace across both
// services.
//
// A round runs each variant once, interleaved (untraced, otel, flowtrace).
// A variant builds its services, providers and exporters before its window
// and shuts them down at its end, inside it, so that flushing the last
// spans is counted. The CPU of a window is the process's user and system
// time (getrusage: every goroutine, the load generator's, the collector's
// reading of requests and the garbage collector's included) divided by the
// requests served; a variant's added CPU is its figure minus the untraced
// one of the same round. The collector only keeps the bodies during a
// window: it gunzips, decodes (go.opentelemetry.io/proto/otlp) and counts
// the spans after the window's CPU is read, since a real collector runs
// elsewhere. The program prints the median and range over the rounds of
// each variant's added CPU per request and of flowtrace's over
// OpenTelemetry's, as a markdown table, and the spans the collector
// received; it exits with status 1 if any span of any request is missing,
// or if any request failed. Its last line, "ratios:" and the ratio of each
// round, is for internal/cmd/benchtable, which runs it. With -cpuprofile,
// each window's CPU profile is written to prefix-round<N>-<variant>.pprof,
// for go tool pprof: what limits the figures.
//
// The figures are CPU time, not latency: they count work wherever it runs
// (the exporters' goroutines included), so a busy machine makes them
// noisy but not meaningless; the ratio of the same round is the figure to
// compare.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"
)

// config is one measurement's configuration.
type config struct {
	rounds   int
	duration time.Duration
	rate     float64
	clients  int
	// keep keeps the spans the collector decoded in each sample (tests).
	keep bool
	// progress, when not nil, receives a line per window.
	progress io.Writer
	// profile, when not empty, is the path prefix of a CPU profile written
	// for each window.
	profile string
}

func (c config) validate() error {
	var errs []error
	if c.rounds < 1 {
		errs = append(errs, fmt.Errorf("-rounds %d, want at least 1", c.rounds))
	}
	if c.duration <= 0 {
		errs = append(errs, fmt.Errorf("-duration %v, want > 0", c.duration))
	}
	if c.clients < 1 {
		errs = append(errs, fmt.Errorf("-clients %d, want at least 1", c.clients))
	}
	if !(c.rate > 0) || c.rate > 1e6 {
		errs = append(errs, fmt.Errorf("-rate %v, want > 0 and at most 1e6", c.rate))
	}
	return errors.Join(errs...)
}

// sample is one variant's window in one round.
type sample struct {
	variant   string
	round     int
	load      load
	cpu       time.Duration // the whole window's
	wantSpans int
	received  received
}

// perRequest is the window's CPU per request served.
func (s sample) perRequest() time.Duration {
	if s.load.served == 0 {
		return 0
	}
	return s.cpu / time.Duration(s.load.served)
}

// check reports a failed request or a span that did not reach the
// collector.
func (s sample) check() error {
	var errs []error
	if s.load.failed > 0 || s.load.served == 0 {
		errs = append(errs, fmt.Errorf("round %d, %s: %d requests failed, %d served: %w", s.round, s.variant, s.load.failed, s.load.served, s.load.err))
	}
	if s.received.spans != s.wantSpans {
		errs = append(errs, fmt.Errorf("round %d, %s: the collector received %d spans, want %d (%d requests × %d)",
			s.round, s.variant, s.received.spans, s.wantSpans, s.load.served, s.wantSpans/max(s.load.served, 1)))
	}
	if s.received.gzipped != s.received.requests {
		errs = append(errs, fmt.Errorf("round %d, %s: %d of %d export requests gzipped, want all", s.round, s.variant, s.received.gzipped, s.received.requests))
	}
	return errors.Join(errs...)
}

// measure runs cfg.rounds rounds of every variant and returns the samples,
// rounds[i][j] being variant j's window in round i. Its error is about the
// measurement itself (a port, a shutdown); missing spans are the samples'
// check.
func measure(ctx context.Context, cfg config) ([][]sample, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	coll, err := startCollector()
	if err != nil {
		return nil, err
	}
	var rounds [][]sample
	for r := range cfg.rounds {
		var round []sample
		for _, v := range variants {
			s, err := window(ctx, cfg, coll, v, r+1)
			if err != nil {
				return rounds, errors.Join(fmt.Errorf("round %d, %s: %w", r+1, v.name, err), coll.close())
			}
			if cfg.progress != nil {
				fmt.Fprintf(cfg.progress, "round %d %-9s %6d requests %8.1f µs CPU/request, spans %d/%d\n",
					r+1, v.name, s.load.served, micros(s.perRequest()), s.received.spans, s.wantSpans)
			}
			round = append(round, s)
		}
		rounds = append(rounds, round)
	}
	return rounds, coll.close()
}

// window runs variant v for one window.
func window(ctx context.Context, cfg config, coll *collector, v variant, round int) (sample, error) {
	s := sample{variant: v.name, round: round}
	st, err := v.start(ctx, coll.url, cfg.clients)
	var start time.Duration
	stopProfile := func() error { return nil }
	if err == nil {
		runtime.GC() // the previous window's garbage, and the start's, are not this window's
		start, err = cpuTime()
	}
	if err == nil && cfg.profile != "" {
		var stop func() error
		if stop, err = startProfile(fmt.Sprintf("%s-round%d-%s.pprof", cfg.profile, round, v.name)); err == nil {
			stopProfile = stop
		}
	}
	if err == nil {
		s.load = generate(st.url, cfg.rate, cfg.clients, cfg.duration)
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	serr := st.shutdown(sctx)
	if err := errors.Join(err, serr, stopProfile()); err != nil {
		return s, err
	}
	end, err := cpuTime()
	if err != nil {
		return s, err
	}
	s.cpu = end - start
	s.wantSpans = s.load.served * v.spansPerRequest
	s.received, err = coll.drain(cfg.keep)
	return s, err
}

// startProfile writes a CPU profile to path until the function it returns
// is called.
func startProfile(path string) (func() error, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return nil, errors.Join(err, f.Close())
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// spread is a median with its range.
type spread struct{ median, low, high float64 }

func spreadOf(xs []float64) spread {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return spread{}
	}
	m := s[n/2]
	if n%2 == 0 {
		m = (s[n/2-1] + s[n/2]) / 2
	}
	return spread{median: m, low: s[0], high: s[n-1]}
}

// table writes the result as markdown, with what produced it.
func table(w io.Writer, cfg config, rounds [][]sample, command string) {
	byVariant := func(name string) []sample {
		var out []sample
		for _, r := range rounds {
			for _, s := range r {
				if s.variant == name {
					out = append(out, s)
				}
			}
		}
		return out
	}
	base, otel, ft := byVariant("untraced"), byVariant("otel"), byVariant("flowtrace")
	var baseCPU, otelAdded, ftAdded, ratio []float64
	for i := range base {
		b := micros(base[i].perRequest())
		o, f := micros(otel[i].perRequest())-b, micros(ft[i].perRequest())-b
		baseCPU, otelAdded, ftAdded = append(baseCPU, b), append(otelAdded, o), append(ftAdded, f)
		if o > 0 {
			ratio = append(ratio, f/o)
		}
	}
	skipped := ""
	if n := len(base) - len(ratio); n > 0 {
		skipped = fmt.Sprintf(" (%d rounds left out of the ratio: OpenTelemetry added nothing measurable in them)", n)
	}
	sb, so, sf, sr := spreadOf(baseCPU), spreadOf(otelAdded), spreadOf(ftAdded), spreadOf(ratio)
	fmt.Fprintf(w, "| two services, one traced request (%d rounds of %v, %g req/s, %d clients) | CPU per request | added by tracing | vs OpenTelemetry |\n", cfg.rounds, cfg.duration, cfg.rate, cfg.clients)
	fmt.Fprintln(w, "|---|---|---|---|")
	fmt.Fprintf(w, "| untraced | %.0f µs (%.0f–%.0f) | | |\n", sb.median, sb.low, sb.high)
	fmt.Fprintf(w, "| OpenTelemetry: otelhttp, SDK batch processor, otlptracehttp (gzip), OpenInference attributes by hand | | %.0f µs (%.0f–%.0f) | 1 |\n", so.median, so.low, so.high)
	fmt.Fprintf(w, "| flowtrace: Middleware, Transport, otelspans.NewOTLP (gzip) | | %.0f µs (%.0f–%.0f) | **%.2f×** (%.2f–%.2f) |\n", sf.median, sf.low, sf.high, sr.median, sr.low, sr.high)
	fmt.Fprintln(w)
	spans := func(ss []sample) (got, want, reqs int) {
		for _, s := range ss {
			got, want, reqs = got+s.received.spans, want+s.wantSpans, reqs+s.load.served
		}
		return got, want, reqs
	}
	og, ow, or := spans(otel)
	fg, fw, fr := spans(ft)
	fmt.Fprintf(w, "Spans at the collector: OpenTelemetry %s of %s (%s requests), flowtrace %s of %s (%s requests).\n",
		thousands(og), thousands(ow), thousands(or), thousands(fg), thousands(fw), thousands(fr))
	fmt.Fprintf(w, "Medians and ranges over the rounds; added CPU is the variant's minus the untraced services' of the same round, and the ratio is flowtrace's over OpenTelemetry's of the same round%s. %s, %d CPUs, %s/%s, %s.\n",
		skipped, runtime.Version(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(w, "\n    %s\n\n", command)
	fmt.Fprint(w, "ratios:")
	for _, r := range ratio {
		fmt.Fprintf(w, " %g", r)
	}
	fmt.Fprintln(w)
}

// thousands writes n with a comma between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func main() {
	cfg := config{progress: os.Stderr}
	flag.IntVar(&cfg.rounds, "rounds", 5, "rounds, each a window of every variant")
	flag.DurationVar(&cfg.duration, "duration", 2*time.Second, "length of each variant's window")
	flag.Float64Var(&cfg.rate, "rate", 1000, "requests per second to service A, all clients together")
	flag.IntVar(&cfg.clients, "clients", 8, "client goroutines of the load generator")
	flag.StringVar(&cfg.profile, "cpuprofile", "", "write a CPU profile of each window to `prefix`-round<N>-<variant>.pprof")
	flag.Parse()
	rounds, err := measure(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "overhead:", err)
		os.Exit(1)
	}
	command := "go run ./internal/cmd/overhead"
	if len(os.Args) > 1 {
		command += " " + strings.Join(os.Args[1:], " ")
	}
	table(os.Stdout, cfg, rounds, command)
	var errs []error
	for _, r := range rounds {
		for _, s := range r {
			errs = append(errs, s.check())
		}
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(os.Stderr, "overhead:", err)
		os.Exit(1)
	}
}

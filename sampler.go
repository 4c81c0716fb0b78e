package flowtrace

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Sampler decides whether a top-level run is recorded. It is asked once,
// at StartTracers, with the run's trace ID (derived from its run ID, so the
// decision is deterministic). Nested runs and runs continuing a remote
// caller are not asked: they inherit their parent's decision.
//
// An unsampled run keeps its identity in ctx (RunFromContext works, and
// RunContext.Sampled reports false) but records nothing: its calls cost
// about what a disabled service's cost, and its exporters see nothing.
//
// Implementations must be safe for concurrent use.
type Sampler interface {
	// ShouldSample reports whether the run with this trace ID is recorded.
	ShouldSample(traceID [16]byte) bool
	// Description names the sampler in errors and logs.
	Description() string
}

// AlwaysSample returns a Sampler that records every run. It is the default.
func AlwaysSample() Sampler { return alwaysSampler{} }

// NeverSample returns a Sampler that records no top-level run. Runs
// continuing a sampled remote caller are still recorded.
func NeverSample() Sampler { return neverSampler{} }

// RatioSample returns a Sampler that records the fraction p of runs,
// chosen by the lowest 56 bits of the trace ID, which W3C Trace Context
// (level 2) and OpenTelemetry's consistent probability sampling treat as
// the trace's randomness: a run is recorded when they are at least
// (1-p)·2^56, so services sampling one trace at the same ratio agree. (The
// upper bits are not used: a UUID run ID fixes some of them.) p must be in
// [0, 1]: WithSampler rejects anything else, NaN included.
func RatioSample(p float64) Sampler { return ratioSampler{p: p} }

type alwaysSampler struct{}

func (alwaysSampler) ShouldSample([16]byte) bool { return true }
func (alwaysSampler) Description() string        { return "AlwaysSample" }

type neverSampler struct{}

func (neverSampler) ShouldSample([16]byte) bool { return false }
func (neverSampler) Description() string        { return "NeverSample" }

type ratioSampler struct{ p float64 }

func (r ratioSampler) ShouldSample(id [16]byte) bool {
	const span = 1 << 56
	threshold := uint64((1 - r.p) * span)
	return binary.BigEndian.Uint64(id[8:16])&(span-1) >= threshold
}

func (r ratioSampler) Description() string { return fmt.Sprintf("RatioSample(%g)", r.p) }

func (r ratioSampler) validate() error {
	if math.IsNaN(r.p) || r.p < 0 || r.p > 1 {
		return fmt.Errorf("sampling ratio %v, want a number in [0, 1]", r.p)
	}
	return nil
}

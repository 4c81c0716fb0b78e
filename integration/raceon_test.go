//go:build race

package integration_test

// raceEnabled reports whether the test binary runs under the race
// detector; the example is then built with it too.
const raceEnabled = true

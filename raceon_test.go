//go:build race

package flowtrace_test

const raceEnabled = true

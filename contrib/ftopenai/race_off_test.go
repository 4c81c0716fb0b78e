//go:build !race

package ftopenai_test

const raceEnabled = false

//go:build race

package ftanthropic_test

const raceEnabled = true

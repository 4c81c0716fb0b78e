//go:build !unix

package main

import (
	"errors"
	"time"
)

// cpuTime needs getrusage, which this system does not have.
func cpuTime() (time.Duration, error) {
	return 0, errors.New("overhead: process CPU time is read with getrusage, on Unix systems only")
}

//go:build !linux

package jaegertest

import "os/exec"

// setParentDeathSignal does nothing outside Linux: there t.Cleanup is the
// only thing that stops Jaeger.
func setParentDeathSignal(*exec.Cmd) {}

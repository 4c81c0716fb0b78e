package jaegertest

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal has the kernel kill Jaeger if the test binary dies
// without running its cleanups (a -timeout panic, a crash), so no Jaeger is
// left behind holding its ports.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

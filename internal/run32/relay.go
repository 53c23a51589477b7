package run32

import (
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// relay forwards every catchable signal to the started cmd, waits for it
// and returns the status a shell would report: its exit code, or 128+N
// when signal N killed it.
func relay(cmd *exec.Cmd) int {
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs)
	defer signal.Stop(sigs)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				if s == syscall.SIGCHLD || s == syscall.SIGURG {
					continue
				}
				cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return 1
}

//go:build linux && cgo

package lxc

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	golxc "github.com/lxc/go-lxc"
)

// Stop stops a running container: SIGTERM to its init (which passes it on
// to every process) and up to timeout for it to exit, then SIGKILL. A
// timeout of 0 kills at once. Stopping a stopped container does nothing
// and returns stopped=false.
func (m *Manager) Stop(name string, timeout time.Duration) (stopped bool, err error) {
	lk, err := m.lockFor(context.Background(), name, "stop")
	if err != nil {
		return false, err
	}
	defer lk.unlock()
	_, c, err := m.open(name)
	if err != nil {
		return false, err
	}
	defer c.Release()
	if !c.Running() {
		return false, nil
	}
	return true, stopContainer(c, timeout)
}

func stopContainer(c container, timeout time.Duration) error {
	if timeout > 0 {
		// An error only means the grace period ran out: killed below.
		c.Shutdown(ShutdownTimeout(timeout))
	}
	// Whatever Shutdown said, the container is stopped only when liblxc
	// says STOPPED.
	if c.State() != golxc.STOPPED {
		if err := c.Stop(); err != nil && c.State() != golxc.STOPPED {
			return fmt.Errorf("stop %s: killing it: %w (see %s)", c.Name(), err, filepath.Join(c.ConfigPath(), c.Name(), LogFile))
		}
	}
	if !c.Wait(golxc.STOPPED, 30*time.Second) {
		return fmt.Errorf("stop %s: still %s 30s after SIGKILL (see %s; lxc-stop -k -n %s -P %s)", c.Name(), c.State(), filepath.Join(c.ConfigPath(), c.Name(), LogFile), c.Name(), c.ConfigPath())
	}
	RemoveStaleCgroups(c.Name())
	return nil
}

// ShutdownTimeout is the grace period given to liblxc for a stop timeout
// d > 0: whole seconds, rounded up, at least one. liblxc takes seconds
// (go-lxc truncates), and 0 means "do not wait at all".
func ShutdownTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return (d + time.Second - 1) / time.Second * time.Second
}

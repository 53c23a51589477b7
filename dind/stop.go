package dind

import (
	"fmt"
	"github.com/armhf-shim/armhf-shim/internal/mountinfo"
	"io"
	"os"
	"sort"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Stop stops the daemon of l: SIGTERM, up to timeout for it to finish
// (dockerd stops its containers and containerd), then SIGKILL for
// whatever of it is left. It reports whether a daemon was running; a
// stopped daemon is not an error, and its leftovers are cleaned up all the
// same.
func Stop(l Layout, timeout time.Duration, out io.Writer) (bool, error) {
	if out == nil {
		out = os.Stderr
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	unlock, err := lock(l)
	if err != nil {
		return false, err
	}
	defer unlock()
	pid, stale := daemonPid(l)
	if stale != 0 {
		fmt.Fprintln(out, staleNote(l, stale))
	}
	return pid != 0, cleanup(l, pid, timeout, out)
}

// cleanup stops the daemon pid (0: none known) and removes everything a
// daemon of l may have left: helper processes, mounts, its network,
// pidfile, socket.
func cleanup(l Layout, pid int, timeout time.Duration, out io.Writer) error {
	procs := daemonProcs(l, pid)
	b := births{}.add(procs)
	if pid != 0 && alive(pid) {
		syscall.Kill(pid, syscall.SIGTERM)
		if left := waitGone([]int{pid}, timeout, b); len(left) > 0 {
			fmt.Fprintf(out, "armhf-shim: dockerd (pid %d) still running %s after SIGTERM; killing it\n", pid, timeout)
			signalAll(procs, syscall.SIGKILL, b)
		}
	}
	// dockerd's helpers stop with it; give them a moment, then kill what
	// is left (including helpers of a daemon that crashed earlier).
	left := waitGone(procs, 5*time.Second, b)
	later := daemonProcs(l, 0)
	b.add(later)
	left = append(left, later...)
	if len(left) > 0 {
		signalAll(left, syscall.SIGKILL, b)
		if still := waitGone(left, 10*time.Second, b); len(still) > 0 {
			return fmt.Errorf("processes %v of the daemon in %s survive SIGKILL", still, l.Dir)
		}
		if pid == 0 {
			fmt.Fprintf(out, "armhf-shim: killed %d leftover process(es) of an earlier daemon in %s\n", len(uniq(left)), l.Dir)
		}
	}
	if err := unmountDaemon(l); err != nil {
		return err
	}
	if err := teardownNetwork(l); err != nil {
		return err
	}
	for _, p := range []string{l.Pidfile(), l.Socket()} {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("removing %s: %v", p, err)
		}
	}
	return nil
}

func uniq(ps []int) []int {
	m := map[int]bool{}
	var out []int
	for _, p := range ps {
		if !m[p] {
			m[p] = true
			out = append(out, p)
		}
	}
	return out
}

// unmountDaemon detaches the mounts a daemon of l made in this namespace
// (one started without its own mount namespace leaves overlay, shm and netns
// mounts below its data and exec roots). Mounts of the roots themselves
// (a dedicated disk, say) are the administrator's and stay.
func unmountDaemon(l Layout) error {
	var points []string
	for _, root := range []string{l.DataRoot(), l.ExecRoot(), l.Rootfs()} {
		for _, p := range mountinfo.Below(root) {
			if p != root {
				points = append(points, p)
			}
		}
	}
	sort.SliceStable(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	for _, p := range points {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
			return fmt.Errorf("unmounting %s: %v", p, err)
		}
	}
	return nil
}

//go:build linux && cgo

package lxc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	golxc "github.com/lxc/go-lxc"
	"golang.org/x/sys/unix"
)

// StartOptions are the options of Manager.Start.
type StartOptions struct {
	Timeout       time.Duration // for the container to run; 0 = 30s
	DockerTimeout time.Duration // for dockerd's socket (--docker); 0 = 60s
}

// Start starts a stopped container: regenerates its cpuinfo and init, has
// liblxc start it (daemonized), and with --docker starts the rootfs's
// dockerd and waits until its socket answers. On every failure after
// liblxc was asked to start it — liblxc's start failing, a container not
// running in time, dockerd not coming up, ctx cancelled (Ctrl-C) — the
// container is stopped again and its stale cgroups removed.
//
// Start holds the container's lock (see LockFile) throughout: a second
// start waits for the first and then finds the container running.
func (m *Manager) Start(ctx context.Context, name string, o StartOptions) error {
	lk, err := m.lockFor(ctx, name, "start")
	if err != nil {
		return err
	}
	defer lk.unlock()
	st, c, err := m.open(name)
	if err != nil {
		return err
	}
	defer c.Release()
	if c.Running() {
		return fmt.Errorf("container %q is already running (pid %d)", name, c.InitPid())
	}
	dir := m.Dir(name)
	if err := CheckRootfs(st.Rootfs); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	if err := writeRuntimeFiles(dir, st); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	return m.start(ctx, c, st, o)
}

// start is Start from liblxc's start on.
func (m *Manager) start(ctx context.Context, c container, st *State, o StartOptions) (err error) {
	name := c.Name()
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.DockerTimeout == 0 {
		o.DockerTimeout = 60 * time.Second
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("start %s: interrupted (%v); nothing was started", name, context.Cause(ctx))
	}
	dir := m.Dir(name)
	logOff := fileSize(filepath.Join(dir, LogFile))
	// Only a container this call starts is stopped again on failure: one
	// that lxc-start (or anyone) is starting, stopping or running is left
	// alone.
	if state := c.State(); state != golxc.STOPPED {
		if state == golxc.RUNNING {
			return fmt.Errorf("container %q is already running (pid %d)", name, c.InitPid())
		}
		return fmt.Errorf("start %s: the container is %s, not STOPPED (is lxc-start or lxc-stop working on it?); left as it is", name, state)
	}
	// From here on, whatever fails leaves the container stopped and its
	// cgroups removed: liblxc may have got part of the way.
	ours := true
	defer func() {
		if err == nil || !ours {
			return
		}
		if c.State() != golxc.STOPPED {
			m.logf("stopping %s again: the start failed", name)
			if serr := stopContainer(c, 0); serr != nil {
				err = fmt.Errorf("%w\n(and stopping it again failed: %v)", err, serr)
			}
		}
		RemoveStaleCgroups(name)
	}()
	if err := c.Start(); err != nil {
		if isAlreadyRunning(err) {
			// Started by someone else (lxc-start) since the check above:
			// theirs, not to be stopped.
			ours = false
			return fmt.Errorf("container %q is already running (started meanwhile by another program, pid %d)", name, c.InitPid())
		}
		return fmt.Errorf("start %s: %v%s", name, err, m.logTail(dir, logOff))
	}
	// liblxc reports RUNNING once init is spawned, before its exec: an init
	// that cannot run (a missing or foreign-architecture /bin/sh, an --init
	// that exits) shows as a container that stops again at once, which
	// Wait may see or not. Watch it for a moment.
	running := c.Wait(golxc.RUNNING, o.Timeout)
	for i := 0; running && i < 6; i++ {
		time.Sleep(50 * time.Millisecond)
		running = c.Running()
	}
	if !running {
		if state := c.State(); state != golxc.STOPPED {
			return fmt.Errorf("start %s: not running after %s (state %s); stopped it again%s", name, o.Timeout, state, m.logTail(dir, logOff))
		}
		init := "/bin/sh " + InitTarget
		if st.Init != nil {
			init = strings.Join(st.Init, " ")
		}
		return fmt.Errorf("start %s: the container stopped right after starting: its init (%s) exited or could not be executed%s", name, init, m.logTail(dir, logOff))
	}
	// Ctrl-C or SIGTERM while the container came up (liblxc's start and
	// the wait above do not watch ctx): stopped again, as with --docker.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("start %s: interrupted (%v); stopped the container again", name, context.Cause(ctx))
	}
	if !st.Docker {
		return nil
	}
	if err := m.startDockerd(ctx, c, st, o.DockerTimeout); err != nil {
		if ctx.Err() == nil {
			m.logf("stopping %s again: dockerd did not start", name)
		}
		return fmt.Errorf("start %s: %w", name, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("start %s: interrupted (%v) as dockerd answered; stopped the container again", name, context.Cause(ctx))
	}
	return nil
}

// isAlreadyRunning reports whether err is go-lxc's ErrAlreadyRunning (which
// it formats with the name, unwrapped).
func isAlreadyRunning(err error) bool {
	return errors.Is(err, golxc.ErrAlreadyRunning) || strings.HasPrefix(err.Error(), golxc.ErrAlreadyRunning.Error())
}

// startDockerd runs dockerd in the container, with stdout and stderr to
// <dir>/dockerd.log, and waits for its API socket.
//
// dockerd is started by the container's /bin/sh (DockerdWrapper), which
// armhf-lxc kills and reaps once the socket answers: liblxc attaches with
// CLONE_PARENT, so an attached dockerd would be reparented on the host
// when armhf-lxc exits, while the sh's orphan is adopted and reaped by the
// container's init (docs/design.md, "LXC host").
func (m *Manager) startDockerd(ctx context.Context, c container, st *State, timeout time.Duration) error {
	dir := m.Dir(st.Name)
	logPath := filepath.Join(dir, DockerdLog)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	defer logf.Close()
	logOff := fileSize(logPath)
	null, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer null.Close()
	argv := DockerdArgv(st.DockerSocket, st.DockerArgs)
	if err := LookPathIn(ContainerPath(c.InitPid(), ""), argv[0], DefaultPath, "/"); err != nil {
		return fmt.Errorf("--docker: %w: install docker.io (or a static dockerd) in the root filesystem", err)
	}
	shim := st.Shim != ""
	if shim {
		// The mount is optional: a wrapper gone since create is not there.
		if _, err := os.Stat(st.Shim); err != nil {
			m.logf("warning: the runtime wrapper %s is gone (%v): the containers and BuildKit RUN steps of dockerd will see the kernel's /proc/cpuinfo", st.Shim, err)
			shim = false
		}
	}
	opts := attachOptions(nil, "/", null, logf, logf)
	opts.Env = DockerdEnv(shim)
	pid, err := c.RunCommandNoWait(DockerdWrapper(argv), opts)
	if err != nil {
		return fmt.Errorf("starting %s in the container: %w", strings.Join(argv, " "), err)
	}
	m.logf("dockerd started; waiting for %s", st.DockerSocket)
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		var ws unix.WaitStatus
		if wpid, _ := unix.Wait4(pid, &ws, unix.WNOHANG, nil); wpid == pid {
			return fmt.Errorf("dockerd exited (%s) before its socket answered%s", describeStatus(ws), fileTail(logPath, logOff, "dockerd log"))
		}
		// Resolved on every try: dockerd may create the directories and
		// links on the way (and a symlink such as /var/run -> /run must
		// not lead to the host's socket).
		sock, err := ContainerSocket(c.InitPid(), st.DockerSocket)
		if err == nil {
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err = PingDocker(pctx, sock)
			cancel()
		}
		lastErr = err
		if lastErr == nil {
			// dockerd's sh goes, dockerd is the container init's.
			unix.Kill(pid, unix.SIGKILL)
			reap(pid)
			return nil
		}
		if ctx.Err() != nil {
			reap(pid)
			return fmt.Errorf("interrupted (%v) while waiting for dockerd on %s; stopped the container again", context.Cause(ctx), st.DockerSocket)
		}
		if time.Now().After(deadline) {
			reap(pid)
			return fmt.Errorf("dockerd did not answer on %s within %s: %v%s", st.DockerSocket, timeout, lastErr, fileTail(logPath, logOff, "dockerd log"))
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// DockerdWrapper is the command attached for --docker: the container's sh
// running dockerd (argv) in the background and exiting with its status
// (see startDockerd).
func DockerdWrapper(argv []string) []string {
	return append([]string{"/bin/sh", "-c", `"$@" & wait $!`, "sh"}, argv...)
}

// reap ends an attached process that is still our child: SIGTERM, up to 5s,
// SIGKILL, and waits for it. liblxc starts attached processes with
// CLONE_PARENT, so they are armhf-lxc's children, and one left as a zombie
// keeps the container's PID namespace (and so its init, and liblxc's
// monitor, and a stop waiting for the monitor) from ever finishing.
func reap(pid int) {
	unix.Kill(pid, unix.SIGTERM)
	var ws unix.WaitStatus
	for i := 0; i < 50; i++ {
		if wpid, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil); wpid == pid || (err != nil && err != unix.EINTR) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	unix.Kill(pid, unix.SIGKILL)
	for {
		if _, err := unix.Wait4(pid, &ws, 0, nil); err != unix.EINTR {
			return
		}
	}
}

func fileTail(p string, off int64, what string) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	f.Seek(off, io.SeekStart)
	b, _ := io.ReadAll(io.LimitReader(f, 64<<10))
	s := strings.TrimSpace(lastLines(string(b), 10))
	if s == "" {
		return ""
	}
	return "\n" + what + " (" + p + "):\n" + s
}

// describeStatus is the wait status of DockerdWrapper's sh: its exit status
// is dockerd's, 128+N when dockerd was killed by signal N (sh's own
// convention), so exit statuses above 128 are reported as that signal.
func describeStatus(ws unix.WaitStatus) string {
	if ws.Signaled() {
		return describeSignal(ws.Signal())
	}
	if code := ws.ExitStatus(); code > 128 && code-128 <= 64 {
		return describeSignal(unix.Signal(code - 128))
	}
	return "exit status " + strconv.Itoa(ws.ExitStatus())
}

func describeSignal(s unix.Signal) string {
	if name := unix.SignalName(s); name != "" {
		return fmt.Sprintf("killed by signal %d (%s)", int(s), name)
	}
	return fmt.Sprintf("killed by signal %d", int(s))
}

//go:build linux && cgo

package lxc

import (
	"fmt"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"syscall"

	golxc "github.com/lxc/go-lxc"
	"golang.org/x/sys/unix"
)

func attachOptions(env []string, cwd string, stdin, stdout, stderr *os.File) golxc.AttachOptions {
	o := golxc.DefaultAttachOptions // namespaces, personality (Arch -1 = the container's), uid, gid of the container
	o.ClearEnv = true
	o.Env = ExecEnv(os.Getenv("TERM"), env)
	o.Cwd = cwd
	o.StdinFd, o.StdoutFd, o.StderrFd = stdin.Fd(), stdout.Fd(), stderr.Fd()
	return o
}

// ExecOptions are the options of Manager.Exec.
type ExecOptions struct {
	Env                   []string // extra KEY=VALUE
	Cwd                   string   // "" = /
	Stdin, Stdout, Stderr *os.File // nil = this process's
}

// Exec runs argv in the running container (its namespaces, cgroup and
// LINUX32 personality) and returns its exit status: the exit code, or 128+N
// when killed by signal N, like a shell. SIGINT, SIGTERM, SIGHUP and
// SIGQUIT received meanwhile are passed on to the command.
func (m *Manager) Exec(name string, argv []string, o ExecOptions) (int, error) {
	if len(argv) == 0 {
		return -1, fmt.Errorf("exec %s: no command given (armhf-lxc exec %s -- CMD [ARG...])", name, name)
	}
	st, c, err := m.open(name)
	if err != nil {
		return -1, err
	}
	defer c.Release()
	if !c.Running() {
		return -1, fmt.Errorf("exec %s: container %q is not running (start it: armhf-lxc start %s)", name, name, name)
	}
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Cwd == "" {
		o.Cwd = "/"
	}
	if !path.IsAbs(o.Cwd) {
		return -1, fmt.Errorf("exec %s: --cwd %s: want an absolute path in the container", name, o.Cwd)
	}
	root := ContainerPath(c.InitPid(), "")
	// liblxc only warns when it cannot chdir, and runs the command in /.
	if err := CheckDirIn(root, o.Cwd); err != nil {
		return -1, fmt.Errorf("exec %s: --cwd %w (create it first, or give an existing directory)", name, err)
	}
	env := ExecEnv(os.Getenv("TERM"), o.Env)
	if err := LookPathIn(root, argv[0], envValue(env, "PATH"), o.Cwd); err != nil {
		return 127, fmt.Errorf("exec %s: %w", name, err)
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)

	opts := attachOptions(nil, o.Cwd, o.Stdin, o.Stdout, o.Stderr)
	opts.Env = env
	// Quote only what liblxc logs about this attach, not the log's start.
	logOff := fileSize(filepath.Join(m.Dir(name), LogFile))
	var pid int
	if st.Machine != "" && st.SeccompAgent != "" && !lsmLabel(c.InitPid()) {
		pid, err = m.attachMachine(name, st, c.InitPid(), argv, env, o.Cwd, o.Stdin, o.Stdout, o.Stderr)
	} else {
		pid, err = c.RunCommandNoWait(argv, opts)
	}
	if err != nil {
		return -1, fmt.Errorf("exec %s: attaching %q failed: %w%s", name, argv[0], err, m.logTail(m.Dir(name), logOff))
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sigs:
				unix.Kill(pid, s.(syscall.Signal))
			case <-done:
				return
			}
		}
	}()
	var ws unix.WaitStatus
	for {
		_, err = unix.Wait4(pid, &ws, 0, nil)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return -1, fmt.Errorf("exec %s: waiting for %s (pid %d): %w", name, argv[0], pid, err)
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

// Shell runs an interactive login shell in the container; see Exec.
func (m *Manager) Shell(name string) (int, error) {
	st, c, err := m.open(name)
	if err != nil {
		return -1, err
	}
	c.Release()
	return m.Exec(name, ShellArgv(st.Rootfs), ExecOptions{})
}

package kubenode

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/armhf-shim/armhf-shim/internal/doctor"
	"github.com/armhf-shim/armhf-shim/internal/fsutil"
	"github.com/armhf-shim/armhf-shim/shim/install"
)

// Run installs (or with Undo removes) armhf-shim on the node whose root is
// o.Root, deciding by doctor's verdict on this node.
func Run(o Options) error {
	if err := o.defaults(); err != nil {
		return err
	}
	if o.Source == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		o.Source = filepath.Dir(exe)
	}
	rep, err := doctor.DiagnoseHost(doctor.Options{})
	if err != nil {
		return fmt.Errorf("doctor: %w", err)
	}
	f := Facts{Native: rep.Runs32Native(), Labels: rep.NodeLabels()}
	fmt.Fprintf(o.Out, "node-install: %s\n", rep.Verdict)
	if !f.Native && !o.Undo {
		fmt.Fprintf(o.Out, "node-install: armhf pods cannot run natively here: writing the labels (aarch32=false) and nothing else\n")
	}
	steps, err := Plan(o, f)
	if err != nil {
		return err
	}
	return Apply(o, steps)
}

// Apply makes the steps' side effects below o.Root, in order; it stops at
// the first failure, saying which step failed.
func Apply(o Options, steps []Step) error {
	if err := o.defaults(); err != nil {
		return err
	}
	for _, s := range steps {
		var err error
		switch s.Kind {
		case CopyBinary:
			err = copyBinary(s.Src, o.under(s.Path), o)
		case Containerd:
			err = containerd(o, s.Path)
		case RestartContainerd:
			if _, err := os.Stat(o.under(restartPending)); errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(o.Out, "node-install: containerd's configuration is unchanged: not restarted\n")
				continue
			}
			if err = restart(o); err == nil {
				err = os.Remove(o.under(restartPending))
			}
		case WriteLabels:
			err = writeIfChanged(o.under(s.Path), s.Data, 0o644, o)
		case RemoveFile:
			err = os.Remove(o.under(s.Path))
			if err == nil {
				fmt.Fprintf(o.Out, "node-install: removed %s\n", s.Path)
			} else if errors.Is(err, fs.ErrNotExist) {
				err = nil
			}
		case RemoveDirIfEmpty:
			err = os.Remove(o.under(s.Path))
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
				err = nil
			}
		default:
			err = errors.New("unknown step")
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// under is a node path in this container.
func (o Options) under(p string) string { return filepath.Join(o.Root, p) }

func copyBinary(src, dst string, o Options) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return writeIfChanged(dst, b, 0o755, o)
}

// writeIfChanged replaces path atomically (containerd may exec a binary,
// nfd-worker read the labels, at any moment), and not at all when it
// already holds data.
func writeIfChanged(path string, data []byte, perm os.FileMode, o Options) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		if st, err := os.Stat(path); err == nil && st.Mode().Perm() == perm {
			return nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(path, data, perm); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "node-install: wrote %s\n", path)
	return nil
}

// restartPending is the node's note that containerd's configuration
// changed and containerd has not been restarted since: written before the
// change and removed after the restart, so a run that failed in between
// (the restart, or a kill) leaves it for the next run to finish. In /run,
// which a reboot, and with it a fresh containerd, clears.
const restartPending = "/run/armhf-shim-containerd-restart"

// containerd runs install's containerd target below the root, noting
// restartPending, under install's lock, before it changes anything.
func containerd(o Options, config string) error {
	io := install.Options{
		Target:            "containerd",
		Root:              o.Root,
		Config:            config,
		RuntimeName:       o.RuntimeName,
		Binary:            filepath.Join(o.BinDir, install.RuntimeLinkName),
		ContainerdVersion: o.ContainerdVersion, // "": install asks the node's containerd
		Uninstall:         o.Undo,
		Out:               o.Out,
		BeforeChange: func(bool) error {
			p := o.under(restartPending)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			return os.WriteFile(p, nil, 0o644)
		},
	}
	return install.Run(io)
}

// nodePATH is where the node's programs are looked for.
var nodePATH = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// nodeCommand is a command of the node run in the node's root: its
// binaries may need the node's libraries (this image has none).
func nodeCommand(root, name string, args ...string) (*exec.Cmd, error) {
	for _, d := range nodePATH {
		p := filepath.Join(d, name)
		if st, err := os.Stat(filepath.Join(root, p)); err == nil && st.Mode().IsRegular() {
			cmd := exec.Command(p, args...)
			cmd.Env = []string{"PATH=" + strings.Join(nodePATH, ":")}
			if root != "/" {
				cmd.Path = p // resolved after the chroot, not here
				cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
				cmd.Dir = "/"
			}
			return cmd, nil
		}
	}
	return nil, fmt.Errorf("no %s in the node's %s", name, strings.Join(nodePATH, ", "))
}

// restartTimeout bounds the wait for containerd to come back.
var restartTimeout = 2 * time.Minute

func restart(o Options) error {
	switch o.Restart {
	case RestartNone:
		fmt.Fprintf(o.Out, "node-install: --restart none: containerd reads its configuration only at start; run systemctl restart containerd on the node\n")
		return nil
	case RestartSystemd:
		cmd, err := nodeCommand(o.Root, "systemctl", "restart", "containerd")
		if err != nil {
			return fmt.Errorf("%w: use --restart signal on a node without systemd", err)
		}
		cmd.Stdout, cmd.Stderr = o.Out, o.Out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("systemctl restart containerd in %s: %w", o.Root, err)
		}
		fmt.Fprintf(o.Out, "node-install: restarted containerd (systemctl restart containerd)\n")
		return nil
	}
	sock := o.under(o.Socket)
	pid, err := socketPid(sock)
	if err != nil {
		return err
	}
	if err := unix.Kill(pid, unix.SIGTERM); err != nil {
		return fmt.Errorf("SIGTERM to containerd pid %d: %w", pid, err)
	}
	fmt.Fprintf(o.Out, "node-install: sent SIGTERM to containerd (pid %d, owner of %s); waiting for its service manager to start it again\n", pid, o.Socket)
	deadline := time.Now().Add(restartTimeout)
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		if np, err := socketPid(sock); err == nil && np != pid {
			fmt.Fprintf(o.Out, "node-install: containerd is back (pid %d)\n", np)
			return nil
		}
	}
	return fmt.Errorf("containerd (pid %d) stopped but did not come back within %v: its systemd unit needs Restart=always "+
		"(containerd.service has it), or start it by hand: systemctl start containerd", pid, restartTimeout)
}

// socketPid is the pid of the process listening on a unix socket, from the
// peer credentials of a connection (SO_PEERCRED), in this PID namespace.
func socketPid(sock string) (int, error) {
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return 0, fmt.Errorf("containerd's socket: %w", err)
	}
	defer c.Close()
	rc, err := c.(*net.UnixConn).SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := rc.Control(func(fd uintptr) { cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) }); err != nil {
		return 0, err
	}
	if cerr != nil {
		return 0, fmt.Errorf("peer credentials of %s: %w", sock, cerr)
	}
	if cred.Pid == 0 {
		return 0, fmt.Errorf("the process behind %s is in another PID namespace: run the installer with hostPID: true for --restart signal", sock)
	}
	return int(cred.Pid), nil
}

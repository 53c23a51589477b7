package run32

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/armhf-shim/armhf-shim/uname/notify"
)

// envNotify marks a process started by superviseMachine: its value is the
// descriptor of the socket on which the seccomp listener goes back to the
// supervisor. The user-namespace child of that process inherits both.
const envNotify = "_ARMHF_SHIM_NOTIFY_FD"

// notifyFD is the descriptor number of the socket in the child (the first
// of exec.Cmd.ExtraFiles).
const notifyFD = 3

// superviseMachine runs this same command line again as a child that will
// install the uname filter before it execs the command (see
// installMachine), answers the child's uname calls with o.Machine, and
// stands in for it as the unprivileged path's parent does. It returns the
// child's exit code once it is gone; the answers stop then, and
// descendants that outlive the child get ENOSYS from uname.
func superviseMachine(o Options) (int, error) {
	abi, ok := notify.CompatABI(runtime.GOARCH)
	if !ok {
		return 0, fmt.Errorf("--machine: no 32-bit compat ABI to intercept on %s", runtime.GOARCH)
	}
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("--machine: socketpair: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "notify"), os.NewFile(uintptr(fds[1]), "notify-child")
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), envNotify+"="+strconv.Itoa(notifyFD))
	cmd.ExtraFiles = []*os.File{theirs}
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		ours.Close()
		return 0, err
	}
	go func() {
		defer ours.Close()
		// A child that fails before its exec closes the socket unsent:
		// it reports its own error.
		l, err := notify.RecvFD(ours)
		if err != nil {
			return
		}
		defer l.Close()
		s := &notify.Server{ABI: abi, Machine: o.Machine, Logf: func(format string, args ...any) {
			o.warn(fmt.Sprintf("--machine: "+format, args...))
		}}
		if err := s.Serve(l); err != nil {
			o.warn(fmt.Sprintf("--machine: %v; uname now fails with ENOSYS", err))
		}
	}()
	return relay(cmd), nil
}

// notifySocket is the socket to the supervisor if this process was started
// by superviseMachine, or nil.
func notifySocket() *os.File {
	if os.Getenv(envNotify) != strconv.Itoa(notifyFD) {
		return nil
	}
	var st unix.Stat_t
	if unix.Fstat(notifyFD, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return nil
	}
	return os.NewFile(notifyFD, "notify")
}

// installMachine loads the uname filter on the calling (locked) thread,
// which is about to exec the command, and sends the listener to the
// supervisor over sock. Neither descriptor survives into the command.
func installMachine(o Options, sock *os.File) error {
	defer sock.Close()
	abi, ok := notify.CompatABI(runtime.GOARCH)
	if !ok {
		return fmt.Errorf("--machine: no 32-bit compat ABI to intercept on %s", runtime.GOARCH)
	}
	l, nnp, err := notify.Install(notify.Filter(abi))
	if errors.Is(err, notify.ErrListenerExists) {
		// Nested under another --machine: the outer supervisor answers.
		o.warn("--machine " + o.Machine + " ignored: " + err.Error() + ", which goes on answering uname")
		return nil
	}
	if err != nil {
		return fmt.Errorf("--machine: %w", err)
	}
	defer l.Close()
	if nnp {
		o.warn("--machine: no CAP_SYS_ADMIN to install the seccomp filter, so no_new_privs is set: " +
			"setuid programs (sudo, su) will not gain privileges")
	}
	return notify.SendFD(sock, l)
}

func (o Options) warn(msg string) {
	if o.Warn != nil {
		o.Warn(msg)
	}
}

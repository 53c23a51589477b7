package notify

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrListenerExists is Install's error when the calling thread already has
// a filter with a listener (an outer supervisor, a container's agent): the
// kernel allows one per process.
var ErrListenerExists = errors.New("this process already has a seccomp filter with a listener (an outer supervisor); the kernel allows one")

// Install loads filter on the calling thread with
// SECCOMP_FILTER_FLAG_NEW_LISTENER and returns the listener. The caller
// holds runtime.LockOSThread and execs on this thread: the filter is the
// thread's, and every process it starts inherits it.
//
// The kernel accepts a filter from a thread with CAP_SYS_ADMIN in its user
// namespace, or with no_new_privs set. Install sets no_new_privs only when
// the first attempt is refused for lack of the capability, because it
// stops setuid programs (sudo, su) from gaining privileges: root keeps
// them. nnp reports that it was set.
func Install(filter []unix.SockFilter) (listener *os.File, nnp bool, err error) {
	if len(filter) == 0 {
		return nil, false, errors.New("empty seccomp filter")
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	fd, errno := seccompFilter(&prog)
	if errno == unix.EACCES {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return nil, false, fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
		}
		nnp = true
		fd, errno = seccompFilter(&prog)
	}
	if errno != 0 {
		if errno == unix.EBUSY {
			return nil, nnp, ErrListenerExists
		}
		if errno == unix.EINVAL {
			return nil, nnp, fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER, NEW_LISTENER): %w (the kernel needs "+
				"seccomp user notification: Linux 5.0 or later)", errno)
		}
		return nil, nnp, fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER, NEW_LISTENER): %w", errno)
	}
	return os.NewFile(uintptr(fd), "seccomp-listener"), nnp, nil
}

func seccompFilter(prog *unix.SockFprog) (int, unix.Errno) {
	r, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(prog)))
	return int(r), errno
}

// SendFD passes f over the Unix socket sock (SCM_RIGHTS) with one byte of
// data; the receiver gets its own descriptor for the same file.
func SendFD(sock *os.File, f *os.File) error {
	if err := unix.Sendmsg(int(sock.Fd()), []byte{0}, unix.UnixRights(int(f.Fd())), nil, 0); err != nil {
		return fmt.Errorf("passing the seccomp listener: %w", err)
	}
	return nil
}

// RecvFD receives one descriptor sent by [SendFD] on sock. It fails if the
// peer closed the socket without sending one.
func RecvFD(sock *os.File) (*os.File, error) {
	oob := make([]byte, unix.CmsgSpace(4))
	buf := make([]byte, 1)
	for {
		n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("receiving the seccomp listener: %w", err)
		}
		if n == 0 && oobn == 0 {
			return nil, errors.New("receiving the seccomp listener: the sender closed the socket without sending it")
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return nil, fmt.Errorf("receiving the seccomp listener: %w", err)
		}
		var fds []int
		for _, m := range msgs {
			rights, err := unix.ParseUnixRights(&m)
			if err == nil {
				fds = append(fds, rights...)
			}
		}
		if len(fds) != 1 {
			for _, fd := range fds {
				unix.Close(fd)
			}
			return nil, fmt.Errorf("receiving the seccomp listener: got %d descriptors, want 1", len(fds))
		}
		return os.NewFile(uintptr(fds[0]), "seccomp-listener"), nil
	}
}

// Available reports whether the kernel supports seccomp user notification
// (Linux 5.0 or later), by asking it about the action
// (SECCOMP_GET_ACTION_AVAIL); nil means it does.
func Available() error {
	action := uint32(unix.SECCOMP_RET_USER_NOTIF)
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_ACTION_AVAIL, 0, uintptr(unsafe.Pointer(&action)))
	switch errno {
	case 0:
		return nil
	case unix.EOPNOTSUPP:
		return errors.New("the kernel has no seccomp user notification (Linux 5.0 or later needed)")
	default:
		return fmt.Errorf("seccomp(SECCOMP_GET_ACTION_AVAIL): %w (a kernel with seccomp filters, Linux 5.0 or later, needed)", errno)
	}
}

package notify

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// seccompData is struct seccomp_data.
type seccompData struct {
	Nr                 int32
	Arch               uint32
	InstructionPointer uint64
	Args               [6]uint64
}

// Notif is struct seccomp_notif (SECCOMP_IOCTL_NOTIF_RECV).
type Notif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Data  seccompData
}

// Resp is struct seccomp_notif_resp (SECCOMP_IOCTL_NOTIF_SEND).
type Resp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// Server answers the uname calls of one listener.
type Server struct {
	ABI     ABI
	Machine string
	// Logf, if set, reports a call that could not be answered as asked
	// (other than for a bad pointer, which is the caller's error).
	Logf func(format string, args ...any)
	// Busy, if set, is read-locked from receiving each request to
	// replying: a holder of its write lock knows that no request is half
	// answered, and that none is received until it unlocks (the agent
	// stops so, its listeners kept for the next one).
	Busy *sync.RWMutex

	own *unix.Stat_t // the serving thread's UTS namespace, if known
}

// Serve answers the notifications arriving on listener until no process
// uses its filter any more (the kernel reports POLLHUP on it, Linux ≥ 5.8;
// before that it runs until the listener fails), and returns nil then. It
// does not close listener. Every request gets a reply unless its caller is
// gone, so a caller never waits on a request Serve has read.
func (s *Server) Serve(listener *os.File) error {
	sc, err := listener.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	// Poll and ioctl block in the kernel: run them on the descriptor
	// directly rather than through Go's poller, which knows nothing of
	// seccomp listeners.
	if err := sc.Control(func(fd uintptr) { serr = s.loop(int(fd)) }); err != nil {
		return err
	}
	return serr
}

func (s *Server) loop(fd int) error {
	// The serving thread's UTS namespace, once: it does not change while
	// it serves (a thread that joins another one ends after the call).
	var own unix.Stat_t
	if unix.Stat("/proc/thread-self/ns/uts", &own) == nil {
		s.own = &own
	}
	for {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return fmt.Errorf("poll on the seccomp listener: %w", err)
		}
		switch ev := pfd[0].Revents; {
		case ev&unix.POLLIN != 0:
		case ev&unix.POLLHUP != 0:
			return nil
		default:
			return fmt.Errorf("seccomp listener: poll events %#x", ev)
		}
		if s.Busy != nil {
			s.Busy.RLock()
		}
		err := s.answerOne(fd)
		if s.Busy != nil {
			s.Busy.RUnlock()
		}
		if err != nil {
			return err
		}
	}
}

// answerOne receives a request on the listener fd and replies to it.
func (s *Server) answerOne(fd int) error {
	var req Notif // must be zero: the kernel refuses a dirty buffer
	if err := ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&req)); err != nil {
		if err == unix.EINTR || err == unix.ENOENT {
			// ENOENT: the caller died after the notification was queued.
			return nil
		}
		return fmt.Errorf("SECCOMP_IOCTL_NOTIF_RECV: %w", err)
	}
	resp, ok := s.answer(fd, &req)
	if !ok {
		return nil
	}
	if err := ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&resp)); err != nil && err != unix.ENOENT {
		return fmt.Errorf("SECCOMP_IOCTL_NOTIF_SEND: %w", err)
	}
	return nil
}

// answer performs req, received on the listener fd, and returns the reply;
// ok is false if the caller is gone and there is nobody to reply to.
func (s *Server) answer(fd int, req *Notif) (resp Resp, ok bool) {
	return s.Answer(req, func() bool { return idValid(fd, req.ID) })
}

// Answer performs req for a supervisor that holds the listener — the
// kernel's, or liblxc's, which forwards requests to a proxy — and returns
// the reply to send. live reports whether the request is still live, so
// that req.Pid still names the caller: with the listener,
// SECCOMP_IOCTL_NOTIF_ID_VALID. ok is false if the caller is gone.
func (s *Server) Answer(req *Notif, live func() bool) (resp Resp, ok bool) {
	resp.ID = req.ID
	layout, known := s.ABI.Calls[uint32(req.Data.Nr)]
	if !known || req.Data.Arch != s.ABI.Arch {
		// Not a 32-bit uname (a container profile may route the 64-bit
		// one here too): the kernel performs it as if not intercepted.
		resp.Flags = unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE
		return resp, true
	}
	u, err := unameOf(int(req.Pid), s.own)
	if err != nil && !live() {
		return resp, false // the caller is gone: its namespace with it
	}
	if err != nil {
		// The kernel's own answer, in the caller's namespace, rather
		// than another namespace's host name.
		s.logf("answering uname of pid %d: %v; the kernel answers instead", req.Pid, err)
		resp.Flags = unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE
		return resp, true
	}
	buf := Reply(layout, &u, s.Machine)
	// The pid names the caller only while the request is live: check
	// before writing, and again after, so that the write is known to have
	// reached the caller (a pid cannot be reused while its task lives).
	if !live() {
		return resp, false
	}
	werr := writeRemote(int(req.Pid), uintptr(req.Data.Args[0]), buf)
	if !live() {
		return resp, false
	}
	if werr != 0 && werr != unix.EFAULT {
		s.logf("answering uname of pid %d: writing its struct utsname: %v", req.Pid, werr)
	}
	resp.Error = -int32(werr)
	return resp, true
}

// unameOf is uname(2) as seen in the UTS namespace of pid (its host and
// domain name): the serving thread's own answer when it shares that
// namespace, the common case; otherwise (a container started under
// exec --machine: a dockerd's) from a thread that joins the namespace for
// this one call and then ends, so that no thread or namespace is kept.
// The caller rechecks that the request is live afterwards: only then is
// pid known to have been the caller.
func unameOf(pid int, own *unix.Stat_t) (unix.Utsname, error) {
	var u unix.Utsname
	var its unix.Stat_t
	nsPath := "/proc/" + strconv.Itoa(pid) + "/ns/uts"
	if own == nil {
		own = new(unix.Stat_t)
		if err := unix.Stat("/proc/thread-self/ns/uts", own); err != nil {
			return u, fmt.Errorf("the UTS namespace: %w", err)
		}
	}
	if err := unix.Stat(nsPath, &its); err != nil {
		return u, fmt.Errorf("its UTS namespace: %w", err)
	}
	if own.Dev == its.Dev && own.Ino == its.Ino {
		return u, unix.Uname(&u)
	}
	fd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return u, fmt.Errorf("its UTS namespace: %w", err)
	}
	defer unix.Close(fd)
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread, now in another namespace, ends
		// with this goroutine.
		runtime.LockOSThread()
		if err := unix.Setns(fd, unix.CLONE_NEWUTS); err != nil {
			errc <- fmt.Errorf("joining its UTS namespace: %w", err)
			return
		}
		errc <- unix.Uname(&u)
	}()
	return u, <-errc
}

// writeRemote writes buf at addr in process pid with the kernel's own
// access checks: an unmapped or read-only destination is EFAULT, as for the
// copy the system call would have made. A partial write is EFAULT too.
func writeRemote(pid int, addr uintptr, buf []byte) unix.Errno {
	local := []unix.Iovec{{Base: &buf[0]}}
	local[0].SetLen(len(buf))
	remote := []unix.RemoteIovec{{Base: addr, Len: len(buf)}}
	n, err := unix.ProcessVMWritev(pid, local, remote, 0)
	var errno unix.Errno
	switch {
	case err == nil && n < len(buf):
		return unix.EFAULT
	case err == nil:
		return 0
	case errors.As(err, &errno):
		return errno
	}
	return unix.EIO
}

func idValid(fd int, id uint64) bool {
	return ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Pointer(&id)) == nil
}

func ioctl(fd int, req uint, arg unsafe.Pointer) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
	if errno != 0 {
		return errno
	}
	return nil
}

func (s *Server) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

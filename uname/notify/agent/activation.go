package agent

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The systemd socket-activation protocol (sd_listen_fds(3)): the service
// manager creates the listening sockets, passes them from descriptor 3 on
// and sets LISTEN_PID to the service's pid and LISTEN_FDS to the number of
// descriptors passed. The sockets then outlive the agent: runtimes that
// connect while it restarts wait in the backlog instead of failing.

// listenFDsStart is SD_LISTEN_FDS_START.
const listenFDsStart = 3

// ActivatedFDs is the number of descriptors systemd passed to process pid
// (from 3 on), as the environment (getenv) says: 0 when none was passed
// to this process (no LISTEN_FDS, or LISTEN_PID names another process — a
// variable inherited from a parent). They are at most two sockets — runc's
// stream socket and liblxc's sequential-packet one — and the listeners
// systemd kept for the agent (fdstore.go).
func ActivatedFDs(getenv func(string) string, pid int) (int, error) {
	fds, lpid := getenv("LISTEN_FDS"), getenv("LISTEN_PID")
	if fds == "" || lpid == "" {
		return 0, nil
	}
	if p, err := strconv.Atoi(lpid); err != nil || p != pid {
		return 0, nil
	}
	n, err := strconv.Atoi(fds)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("LISTEN_FDS=%q: not a number of descriptors", fds)
	}
	return n, nil
}

// ActivatedListeners are what systemd passed: the listening Unix sockets —
// the stream socket runtimes connect to (listenerPath) and the
// sequential-packet socket of liblxc's seccomp proxy, each nil when not
// passed — and the descriptors it kept for the agent, told apart by their
// names (LISTEN_FDNAMES). It unsets LISTEN_PID, LISTEN_FDS and
// LISTEN_FDNAMES, as sd_listen_fds does, and never unlinks a socket on
// close: systemd owns them.
func ActivatedListeners() (stream, seqpacket *net.UnixListener, stored []StoredFD, err error) {
	n, err := ActivatedFDs(os.Getenv, os.Getpid())
	var names []string
	if err == nil {
		names, err = ListenFDNames(os.Getenv, n)
	}
	for _, k := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		os.Unsetenv(k)
	}
	for fd := listenFDsStart; err == nil && fd < listenFDsStart+n; fd++ {
		if name := names[fd-listenFDsStart]; strings.HasPrefix(name, keptPrefix) {
			unix.CloseOnExec(fd)
			stored = append(stored, StoredFD{Name: name, File: os.NewFile(uintptr(fd), "seccomp-listener")})
			continue
		}
		var l *net.UnixListener
		var typ int
		if l, typ, err = activated(fd); err != nil {
			break
		}
		dst := &stream
		if typ == unix.SOCK_SEQPACKET {
			dst = &seqpacket
		}
		if *dst != nil {
			l.Close()
			err = fmt.Errorf("systemd passed two sockets of one type: one ListenStream= (runc) and one ListenSequentialPacket= (LXC) at most")
			break
		}
		*dst = l
	}
	if err != nil {
		for _, l := range []*net.UnixListener{stream, seqpacket} {
			if l != nil {
				l.Close()
			}
		}
		for _, s := range stored {
			s.File.Close()
		}
		return nil, nil, nil, err
	}
	return stream, seqpacket, stored, nil
}

func activated(fd int) (*net.UnixListener, int, error) {
	unix.CloseOnExec(fd)
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil || typ != unix.SOCK_STREAM && typ != unix.SOCK_SEQPACKET {
		return nil, 0, fmt.Errorf("descriptor %d from systemd is not a stream or sequential-packet socket", fd)
	}
	if acc, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err != nil || acc != 1 {
		return nil, 0, fmt.Errorf("descriptor %d from systemd is not a listening socket (Accept=no in the .socket unit)", fd)
	}
	f := os.NewFile(uintptr(fd), "systemd-socket")
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, 0, fmt.Errorf("the socket from systemd: %w", err)
	}
	ul, ok := ln.(*net.UnixListener)
	if !ok {
		ln.Close()
		return nil, 0, fmt.Errorf("a socket from systemd is not a Unix socket (ListenStream= must be a path)")
	}
	ul.SetUnlinkOnClose(false)
	return ul, typ, nil
}

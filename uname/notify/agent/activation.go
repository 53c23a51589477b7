package agent

import (
	"fmt"
	"net"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// The systemd socket-activation protocol (sd_listen_fds(3)): the service
// manager creates the listening socket, passes it as descriptor 3 and
// sets LISTEN_PID to the service's pid and LISTEN_FDS to the number of
// descriptors passed. The socket then outlives the agent: runtimes that
// connect while it restarts wait in the backlog instead of failing.

// listenFDsStart is SD_LISTEN_FDS_START.
const listenFDsStart = 3

// ActivatedFD is the descriptor systemd passed to process pid, as the
// environment (getenv) says: ok is false when none was passed to this
// process (no LISTEN_FDS, or LISTEN_PID names another process — a variable
// inherited from a parent). More than one descriptor is an error: the
// agent has one socket.
func ActivatedFD(getenv func(string) string, pid int) (fd int, ok bool, err error) {
	fds, lpid := getenv("LISTEN_FDS"), getenv("LISTEN_PID")
	if fds == "" || lpid == "" {
		return 0, false, nil
	}
	if p, err := strconv.Atoi(lpid); err != nil || p != pid {
		return 0, false, nil
	}
	n, err := strconv.Atoi(fds)
	switch {
	case err != nil || n < 0:
		return 0, false, fmt.Errorf("LISTEN_FDS=%q: not a number of descriptors", fds)
	case n == 0:
		return 0, false, nil
	case n > 1:
		return 0, false, fmt.Errorf("LISTEN_FDS=%d: the agent takes one socket (one ListenStream= in its .socket unit)", n)
	}
	return listenFDsStart, true, nil
}

// ActivatedListener is the listening Unix stream socket systemd passed,
// or nil when it passed none. It unsets LISTEN_PID, LISTEN_FDS and
// LISTEN_FDNAMES, as sd_listen_fds does, and never unlinks the socket on
// close: systemd owns it.
func ActivatedListener() (*net.UnixListener, error) {
	fd, ok, err := ActivatedFD(os.Getenv, os.Getpid())
	for _, k := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		os.Unsetenv(k)
	}
	if err != nil || !ok {
		return nil, err
	}
	unix.CloseOnExec(fd)
	if t, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE); err != nil || t != unix.SOCK_STREAM {
		return nil, fmt.Errorf("descriptor %d from systemd is not a stream socket (ListenStream= in the .socket unit)", fd)
	}
	if acc, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err != nil || acc != 1 {
		return nil, fmt.Errorf("descriptor %d from systemd is not a listening socket (Accept=no in the .socket unit)", fd)
	}
	f := os.NewFile(uintptr(fd), "systemd-socket")
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("the socket from systemd: %w", err)
	}
	ul, ok := ln.(*net.UnixListener)
	if !ok {
		ln.Close()
		return nil, fmt.Errorf("the socket from systemd is not a Unix socket (ListenStream= must be a path)")
	}
	ul.SetUnlinkOnClose(false)
	return ul, nil
}

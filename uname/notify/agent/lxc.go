package agent

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"golang.org/x/sys/unix"

	"github.com/armhf-shim/armhf-shim/uname/notify"
)

// liblxc's seccomp notification proxy (lxc.seccomp.notify.proxy) differs
// from runc's listenerPath: liblxc's monitor keeps the container's
// listener and receives each notification itself, then forwards it to the
// proxy over a SOCK_SEQPACKET connection it opened when the container
// started — one message per notification: struct seccomp_notify_proxy_msg
// (below), the struct seccomp_notif, a struct seccomp_notif_resp and the
// cookie (lxc.seccomp.notify.cookie), with two descriptors attached: the
// caller's /proc/PID directory and /proc/PID/mem, opened and checked live
// by liblxc. The proxy answers with the message minus the cookie, the
// response filled in, and liblxc sends it to the kernel. The agent uses
// the cookie as the machine name, checks liveness through the /proc/PID
// directory, and writes with process_vm_writev as for runc (never through
// the mem descriptor, whose writes ignore page protections where the
// kernel's copy would fail with EFAULT).

// armhf-lxc exec installs the filter itself where liblxc's attach would
// race (see package lxc), and hands the listener to the agent on the same
// socket in runc's listenerPath format (HandOverLXC): the connection's one
// message is the container process state as JSON, with the listener
// attached. It is served as a runc container's is.

// DefaultLXCSocket is where armhf-lxc points lxc.seccomp.notify.proxy,
// and the agent's LXC socket in its systemd unit.
const DefaultLXCSocket = "/run/armhf-shim/seccomp-agent-lxc.sock"

// lxcHeader is the size of struct seccomp_notify_proxy_msg (lxcseccomp.h):
// u64 __reserved; pid_t monitor_pid, init_pid; struct seccomp_notif_sizes
// (three u16); u64 cookie_len (aligned to 8).
const lxcHeader = 32

// Limits on what a message may hold.
const (
	maxLXCStruct = 4096
	maxLXCCookie = 4096
	lxcBuf       = lxcHeader + 2*maxLXCStruct + maxLXCCookie
)

// LXCRequest is one notification forwarded by liblxc.
type LXCRequest struct {
	Notif  notify.Notif
	Cookie string
	// sizes as liblxc sent them: the reply repeats the layout.
	notifSize, respSize int
}

// ParseLXC decodes a proxy message.
func ParseLXC(b []byte) (*LXCRequest, error) {
	if len(b) < lxcHeader {
		return nil, fmt.Errorf("liblxc proxy message of %d bytes, shorter than its header", len(b))
	}
	le := binary.LittleEndian
	if le.Uint64(b[0:]) != 0 {
		return nil, errors.New("liblxc proxy message with a non-zero reserved field")
	}
	r := &LXCRequest{notifSize: int(le.Uint16(b[16:])), respSize: int(le.Uint16(b[18:]))}
	cookieLen := le.Uint64(b[24:])
	switch {
	case r.notifSize < int(unsafe.Sizeof(notify.Notif{})) || r.notifSize > maxLXCStruct:
		return nil, fmt.Errorf("liblxc proxy message: struct seccomp_notif of %d bytes", r.notifSize)
	case r.respSize < int(unsafe.Sizeof(notify.Resp{})) || r.respSize > maxLXCStruct:
		return nil, fmt.Errorf("liblxc proxy message: struct seccomp_notif_resp of %d bytes", r.respSize)
	case cookieLen > maxLXCCookie:
		return nil, fmt.Errorf("liblxc proxy message: cookie of %d bytes", cookieLen)
	case len(b) != lxcHeader+r.notifSize+r.respSize+int(cookieLen):
		return nil, fmt.Errorf("liblxc proxy message of %d bytes, its header says %d", len(b), lxcHeader+r.notifSize+r.respSize+int(cookieLen))
	}
	r.Notif = *(*notify.Notif)(unsafe.Pointer(&append([]byte(nil), b[lxcHeader:lxcHeader+int(unsafe.Sizeof(notify.Notif{}))]...)[0]))
	r.Cookie = string(b[lxcHeader+r.notifSize+r.respSize:])
	return r, nil
}

// LXCReply is the message liblxc expects back: msg's header and
// notification as sent, and resp in place of its response.
func LXCReply(msg []byte, r *LXCRequest, resp notify.Resp) []byte {
	out := append([]byte(nil), msg[:lxcHeader+r.notifSize]...)
	rb := make([]byte, r.respSize)
	copy(rb, unsafe.Slice((*byte)(unsafe.Pointer(&resp)), unsafe.Sizeof(resp)))
	return append(out, rb...)
}

// ServeLXC accepts liblxc monitors on ln (a SOCK_SEQPACKET socket) until
// it is closed, and returns nil then. Each monitor — one per running
// container — and each hand-over is served on a goroutine of its own, at
// most Max at once.
func (a *Agent) ServeLXC(ln *net.UnixListener) error {
	n := max(a.Max, 1)
	slots := make(chan struct{}, n)
	return a.acceptEach(ln, slots, func(conn *net.UnixConn) {
		defer func() { <-slots }()
		a.serveLXCConn(conn)
	}, fmt.Sprintf("LXC: %d containers and exec'd commands served already (the maximum): connection refused; their uname fails with ENOSYS", n))
}

// serveLXCConn answers one monitor's notifications until it hangs up, or
// serves the listener armhf-lxc exec hands over (see HandOverLXC).
func (a *Agent) serveLXCConn(conn *net.UnixConn) {
	defer conn.Close()
	buf := make([]byte, lxcBuf+1)
	oob := make([]byte, unix.CmsgSpace(4*4))
	for first := true; ; first = false {
		n, oobn, flags, _, err := conn.ReadMsgUnix(buf, oob)
		fds := parseFDs(oob[:max(oobn, 0)])
		if err != nil || n == 0 {
			closeFDs(fds)
			return // the container stopped (or a read failed: liblxc reconnects)
		}
		// liblxc's messages start with a zero field, a hand-over with
		// its JSON.
		if first && buf[0] == '{' && flags&unix.MSG_TRUNC == 0 && n <= lxcBuf {
			st, l, err := decodeState(buf[:n], fds)
			if err != nil {
				a.logf("LXC: %v", err)
				return
			}
			defer l.Close()
			a.serveListener(st, l)
			return
		}
		reply, err := a.answerLXC(buf[:n], flags&unix.MSG_TRUNC != 0 || n > lxcBuf, fds)
		closeFDs(fds)
		if err != nil {
			a.logf("LXC: %v; connection closed (liblxc answers ENOSYS and reconnects)", err)
			return
		}
		if _, err := conn.Write(reply); err != nil {
			return
		}
	}
}

// answerLXC answers one proxy message; fds are the descriptors it came
// with (the caller's /proc/PID directory first).
func (a *Agent) answerLXC(msg []byte, truncated bool, fds []int) ([]byte, error) {
	if truncated {
		return nil, fmt.Errorf("a liblxc proxy message longer than %d bytes", lxcBuf)
	}
	r, err := ParseLXC(msg)
	if err != nil {
		return nil, err
	}
	machine := a.Machine
	if r.Cookie != "" {
		machine = r.Cookie
	}
	resp := notify.Resp{ID: r.Notif.ID}
	if err := notify.CheckMachine(machine); err != nil {
		a.logf("LXC: pid %d: lxc.seccomp.notify.cookie: %v; its uname fails with ENOSYS", r.Notif.Pid, err)
		resp.Error = -int32(unix.ENOSYS)
		return LXCReply(msg, r, resp), nil
	}
	// liblxc checked the request live after opening /proc/PID; the
	// directory stays the caller's: a lookup in it fails once the caller
	// is gone (reaped), before its pid can name another process.
	live := func() bool {
		return len(fds) > 0 && unix.Faccessat(fds[0], "stat", unix.F_OK, 0) == nil
	}
	s := &notify.Server{ABI: a.ABI, Machine: machine, Logf: func(format string, args ...any) {
		a.logf("LXC: "+format, args...)
	}}
	resp, ok := s.Answer(&r.Notif, live)
	if !ok {
		resp = notify.Resp{ID: r.Notif.ID, Error: -int32(unix.ENOSYS)} // nobody to answer
	}
	return LXCReply(msg, r, resp), nil
}

func parseFDs(oob []byte) []int {
	var fds []int
	msgs, _ := unix.ParseSocketControlMessage(oob)
	for _, m := range msgs {
		if rights, err := unix.ParseUnixRights(&m); err == nil {
			fds = append(fds, rights...)
		}
	}
	return fds
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// HandOverLXC gives the agent on the LXC socket path the seccomp listener l
// of a process in the container st (State.ID its name, Pid its init),
// whose 32-bit uname says machine. The agent keeps its own copy: the
// caller closes l.
func HandOverLXC(path string, st specs.ContainerProcessState, machine string, l *os.File) error {
	st.Version = specs.Version
	st.Fds = []string{"seccompFd"}
	st.Metadata = machine
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if len(data) > lxcBuf {
		return fmt.Errorf("container %s: a state of %d bytes, more than the agent reads", st.State.ID, len(data))
	}
	conn, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		return fmt.Errorf("seccomp agent's LXC socket: %w", err)
	}
	defer conn.Close()
	if _, _, err := conn.WriteMsgUnix(data, unix.UnixRights(int(l.Fd())), nil); err != nil {
		return fmt.Errorf("seccomp agent's LXC socket %s: handing over the listener: %w", path, err)
	}
	return nil
}

// Package agent is the seccomp agent of OCI runtimes' listenerPath
// protocol for uname: it receives each container's seccomp listener from
// the runtime and answers the container's 32-bit uname through package
// notify.
//
// The model: runc ≥ 1.1 (and crun) connect to linux.seccomp.listenerPath
// when a container's profile has an SCMP_ACT_NOTIFY rule, send the
// container process state as JSON (specs.ContainerProcessState, its fds
// naming "seccompFd") with the listener attached (SCM_RIGHTS) in one
// message, and keep the connection open until they exit. The agent serves
// each listener on a goroutine of its own, in the container's UTS
// namespace (so the host name is the container's), until the container's
// last process exits; a bounded number at once. If the agent is down when
// a container starts, runc cannot create it; if it stops later, the
// container's uname fails with ENOSYS.
package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/armhf-shim/armhf-shim/uname/notify"
)

// AnnotationMachine is the container annotation naming the machine its
// uname reports, when the listener's metadata names none.
const AnnotationMachine = "io.armhf-shim.machine"

// Agent serves the seccomp listeners runtimes hand over on a Unix socket.
type Agent struct {
	ABI notify.ABI
	// Machine is the answer when neither the listener metadata
	// (linux.seccomp.listenerMetadata) nor the annotation
	// AnnotationMachine names one.
	Machine string
	// Max bounds the listeners served at once, and the connections
	// still sending their state; a listener beyond it is closed at once
	// (its container's uname fails with ENOSYS) and logged.
	Max int
	// Store, when not nil, keeps the listeners served in systemd's
	// file descriptor store (fdstore.go).
	Store *FDStore
	Logf  func(format string, args ...any)

	answering sync.RWMutex // notify.Server.Busy of every listener
}

// Stop stops answering: it returns once no request is half answered, and
// none is received after. The process may then exit: the requests queued
// on listeners systemd keeps wait for the next agent instead of for an
// answer that never comes.
func (a *Agent) Stop() {
	a.answering.Lock()
}

// maxState bounds the container state a runtime may send.
const maxState = 1 << 20

// handshakeTimeout bounds how long a connection may take to send its state.
const handshakeTimeout = 10 * time.Second

// Serve accepts connections on ln until it is closed, and returns nil then.
func (a *Agent) Serve(ln *net.UnixListener) error {
	n := max(a.Max, 1)
	// Handshakes have slots of their own, so that slow or silent clients
	// cannot keep a container's listener from being served, nor make the
	// agent start goroutines without bound.
	shakes, serving := make(chan struct{}, n), make(chan struct{}, n)
	return a.acceptEach(ln, shakes, func(conn *net.UnixConn) { a.handle(conn, shakes, serving) },
		fmt.Sprintf("%d connections are sending their state already: connection refused", n))
}

// acceptEach is the accept loop of both sockets: it accepts connections on
// ln until ln is closed, and returns nil then. Each connection takes a
// place in slots and is handed to serve on a goroutine of its own, which
// frees the place (<-slots) when done with it; with no place free the
// connection is closed at once and refused logged, so that no client can
// make the agent start goroutines without bound.
func (a *Agent) acceptEach(ln *net.UnixListener, slots chan struct{}, serve func(*net.UnixConn), refused string) error {
	for {
		conn, err := ln.AcceptUnix()
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		select {
		case slots <- struct{}{}:
			go serve(conn)
		default:
			conn.Close()
			a.logf("%s", refused)
		}
	}
}

// handle receives one listener and serves it, if a serving slot is free;
// otherwise the listener is closed, and the container's uname fails with
// ENOSYS.
func (a *Agent) handle(conn *net.UnixConn, shakes, serving chan struct{}) {
	st, l, err := ReceiveState(conn)
	conn.Close()
	<-shakes
	if err != nil {
		if err != ErrNothingSent {
			a.logf("%v", err)
		}
		return
	}
	defer l.Close()
	select {
	case serving <- struct{}{}:
		defer func() { <-serving }()
	default:
		a.logf("%s: %d containers served already (the maximum): its uname fails with ENOSYS", Kept{Pid: st.Pid, ID: st.State.ID}.who(), cap(serving))
		return
	}
	a.serveListener(st, l)
}

// who names the container of k in the agent's log.
func (k Kept) who() string { return fmt.Sprintf("container %s (pid %d)", k.ID, k.Pid) }

// serveListener answers the uname calls on l, the listener of the
// container st, until no process uses its filter any more.
func (a *Agent) serveListener(st *specs.ContainerProcessState, l *os.File) {
	k := Kept{Pid: st.Pid, Machine: a.Machine, ID: st.State.ID}
	switch {
	case st.Metadata != "":
		k.Machine = st.Metadata
	case st.State.Annotations[AnnotationMachine] != "":
		k.Machine = st.State.Annotations[AnnotationMachine]
	}
	a.serve(k, l, false)
}

// serve answers on l as k says until no process uses its filter any more.
// Under systemd (a.Store) l is in the store while it is served — stored
// says it is there already, passed back at the agent's start — and taken
// out when its serving ends, however it ends.
func (a *Agent) serve(k Kept, l *os.File, stored bool) {
	who := k.who()
	if stored {
		defer a.unstore(who, k)
	}
	if err := notify.CheckMachine(k.Machine); err != nil {
		a.logf("%s: %v; its uname fails with ENOSYS", who, err)
		return
	}
	// The thread joins the container's UTS namespace and is never
	// returned to the Go scheduler: it ends with this goroutine.
	runtime.LockOSThread()
	if err := joinUTS(k.Pid); err != nil {
		a.logf("%s: %v; its uname fails with ENOSYS", who, err)
		return
	}
	if !stored && a.Store != nil {
		if err := a.Store.add(&k, l); err != nil {
			a.logf("%s: storing its listener with systemd: %v; its uname fails with ENOSYS once the agent restarts", who, err)
		} else {
			defer a.unstore(who, k)
		}
	}
	s := &notify.Server{ABI: a.ABI, Machine: k.Machine, Busy: &a.answering, Logf: func(format string, args ...any) {
		a.logf(who+": "+format, args...)
	}}
	if err := s.Serve(l); err != nil {
		a.logf("%s: %v; its uname fails with ENOSYS from now on", who, err)
	}
}

func (a *Agent) unstore(who string, k Kept) {
	if a.Store == nil {
		return
	}
	if err := a.Store.remove(k.FDName()); err != nil {
		a.logf("%s: taking its listener out of systemd's store: %v", who, err)
	}
}

// joinUTS moves the calling (locked) thread into the UTS namespace of pid.
func joinUTS(pid int) error {
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/ns/uts", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening its UTS namespace: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWUTS); err != nil {
		return fmt.Errorf("joining its UTS namespace: %w", err)
	}
	return nil
}

// ErrNothingSent is ReceiveState's error for a connection closed without a
// byte: a probe (armhf-shim doctor), not a runtime.
var ErrNothingSent = errors.New("the connection closed without sending a container state")

// ReceiveState reads what a runtime sends on listenerPath: the container
// process state and the listener it names "seccompFd". Descriptors other
// than the listener are closed.
func ReceiveState(conn *net.UnixConn) (*specs.ContainerProcessState, *os.File, error) {
	conn.SetReadDeadline(time.Now().Add(handshakeTimeout))
	var data []byte
	var fds []int
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4*16))
	for {
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		n, oobn = max(n, 0), max(oobn, 0)
		if oobn > 0 {
			msgs, perr := unix.ParseSocketControlMessage(oob[:oobn])
			for _, m := range msgs {
				if rights, rerr := unix.ParseUnixRights(&m); rerr == nil {
					fds = append(fds, rights...)
				}
			}
			if perr != nil && err == nil {
				err = perr
			}
		}
		data = append(data, buf[:n]...)
		if err != nil && !errors.Is(err, io.EOF) {
			closeFDs(fds)
			return nil, nil, fmt.Errorf("receiving a container's seccomp listener: %w", err)
		}
		// A complete JSON value is the end of the message.
		if err != nil || n == 0 && oobn == 0 || json.Valid(data) {
			break
		}
		if len(data) > maxState {
			closeFDs(fds)
			return nil, nil, fmt.Errorf("receiving a container's seccomp listener: state larger than %d bytes", maxState)
		}
	}
	if len(data) == 0 && len(fds) == 0 {
		return nil, nil, ErrNothingSent
	}
	return decodeState(data, fds)
}

// decodeState decodes the container process state data and takes the
// listener it names "seccompFd" out of fds; the other descriptors, and all
// of them on error, are closed.
func decodeState(data []byte, fds []int) (*specs.ContainerProcessState, *os.File, error) {
	var st specs.ContainerProcessState
	if err := json.Unmarshal(data, &st); err != nil {
		closeFDs(fds)
		return nil, nil, fmt.Errorf("receiving a container's seccomp listener: the state: %w", err)
	}
	idx := -1
	for i, name := range st.Fds {
		if name == "seccompFd" {
			idx = i
		}
	}
	if idx < 0 || idx >= len(fds) {
		closeFDs(fds)
		return nil, nil, fmt.Errorf("container %s: the runtime sent %d descriptor(s) named %q, no seccompFd", st.State.ID, len(fds), st.Fds)
	}
	for i, fd := range fds {
		if i != idx {
			unix.Close(fd)
		}
	}
	unix.CloseOnExec(fds[idx])
	return &st, os.NewFile(uintptr(fds[idx]), "seccomp-listener"), nil
}

func (a *Agent) logf(format string, args ...any) {
	if a.Logf != nil {
		a.Logf(format, args...)
	}
}

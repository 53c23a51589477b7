//go:build linux && cgo

package lxc

/*
#cgo pkg-config: lxc
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <lxc/lxccontainer.h>
#include <lxc/attach_options.h>

struct machine_exec {
	struct sock_fprog prog;
	int sock;
	char **argv;
};

// report sends {errno, no_new_privs set} to the parent with the listener
// attached when there is one.
static int report(int sock, int32_t err, int32_t nnp, int fd) {
	int32_t msg[2] = {err, nnp};
	struct iovec iov = {.iov_base = msg, .iov_len = sizeof(msg)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof(cbuf.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

// machine_exec runs in the attached process, in the container: it loads
// the uname filter (as notify.Install does), sends the listener to
// armhf-lxc exec, and execs the command. Without the listener in safe
// hands the command does not run.
static int machine_exec(void *payload) {
	struct machine_exec *p = payload;
	int32_t nnp = 0;
	int fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &p->prog);
	if (fd < 0 && errno == EACCES && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0) {
		nnp = 1;
		fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &p->prog);
	}
	if (fd < 0) {
		report(p->sock, errno, nnp, -1);
		return 126;
	}
	int sent = report(p->sock, 0, nnp, fd);
	close(fd);
	close(p->sock);
	if (sent < 0)
		return 126;
	execvp(p->argv[0], p->argv);
	// The exit codes of liblxc's lxc_attach_run_command.
	switch (errno) {
	case EACCES:
	case ENOEXEC:
		return 126;
	case ENOENT:
		return 127;
	}
	return 255;
}

// attach_machine is go-lxc's RunCommandNoWait without LXC_ATTACH_LSM_EXEC,
// running machine_exec: liblxc then loads no seccomp profile in the
// attached process (and has no LSM label to set: the caller checked).
static int attach_machine(const char *name, const char *lxcpath, char **env, const char *cwd,
			  int in, int out, int err, struct machine_exec *p, pid_t *pid) {
	struct lxc_container *c = lxc_container_new(name, lxcpath);
	if (!c)
		return -1;
	lxc_attach_options_t o = LXC_ATTACH_OPTIONS_DEFAULT;
	o.attach_flags = LXC_ATTACH_DEFAULT & ~LXC_ATTACH_LSM_EXEC;
	o.env_policy = LXC_ATTACH_CLEAR_ENV;
	o.extra_env_vars = env;
	o.initial_cwd = (char *)cwd;
	o.stdin_fd = in;
	o.stdout_fd = out;
	o.stderr_fd = err;
	int ret = c->attach(c, machine_exec, p, &o, pid);
	lxc_container_put(c);
	return ret;
}
*/
import "C"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/armhf-shim/armhf-shim/uname/notify"
	"github.com/armhf-shim/armhf-shim/uname/notify/agent"
)

// Why armhf-lxc exec does not let liblxc load a --machine container's
// profile: liblxc 5.0's attach has the attached process send its seccomp
// listener on the socket on which the transient process it forked from
// sends that process's pid, and reads 4 bytes for the pid. When the
// transient process is descheduled between its clone and its write (a
// loaded host), the listener's 1-byte message comes first, the attach
// fails ("attaching to the container failed"), and the command runs
// anyway with uname failing (ENOSYS). liblxc syncs the two only when the
// container has an LSM label (AppArmor, SELinux): the attached process
// waits for the label first. So where the container has none, armhf-lxc
// exec attaches without liblxc's LSM step (it has nothing to do then) and
// installs the uname filter itself.

// lsmLabel reports whether the process pid has an LSM label, which liblxc's
// attach sets on the attached process (and then syncs with it).
func lsmLabel(pid int) bool {
	for _, f := range []string{"attr/apparmor/current", "attr/current"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, f))
		if err == nil && strings.TrimSpace(strings.TrimRight(string(b), "\x00")) != "" {
			return true
		}
	}
	return false
}

// attachMachine starts argv in the running container name like
// RunCommandNoWait, with the uname filter of --machine installed in the
// command by armhf-lxc itself and its listener handed to the seccomp
// agent st names. It returns the command's pid.
func (m *Manager) attachMachine(name string, st *State, initPid int, argv, env []string, cwd string, stdin, stdout, stderr *os.File) (int, error) {
	abi, ok := notify.CompatABI(runtime.GOARCH)
	if !ok {
		return -1, fmt.Errorf("--machine: no 32-bit compat ABI to intercept on %s", runtime.GOARCH)
	}
	filter := notify.Filter(abi)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("socketpair: %w", err)
	}
	ours := os.NewFile(uintptr(fds[0]), "machine")
	defer ours.Close()

	// Everything the attached process reads is C memory: it runs in a
	// fork of this process, outside the Go runtime.
	p := (*C.struct_machine_exec)(C.calloc(1, C.sizeof_struct_machine_exec))
	defer C.free(unsafe.Pointer(p))
	prog := C.calloc(C.size_t(len(filter)), C.size_t(unsafe.Sizeof(filter[0])))
	defer C.free(prog)
	copy(unsafe.Slice((*unix.SockFilter)(prog), len(filter)), filter)
	p.prog.len = C.ushort(len(filter))
	p.prog.filter = (*C.struct_sock_filter)(prog)
	p.sock = C.int(fds[1])
	cargv, freeArgv := cStrings(argv)
	defer freeArgv()
	p.argv = cargv
	cenv, freeEnv := cStrings(env)
	defer freeEnv()
	cname, cpath, ccwd := C.CString(name), C.CString(m.lxcpath()), C.CString(cwd)
	defer C.free(unsafe.Pointer(cname))
	defer C.free(unsafe.Pointer(cpath))
	defer C.free(unsafe.Pointer(ccwd))

	var pid C.pid_t
	ret := C.attach_machine(cname, cpath, cenv, ccwd, C.int(stdin.Fd()), C.int(stdout.Fd()), C.int(stderr.Fd()), p, &pid)
	unix.Close(fds[1]) // the attached process has its copy: its exit or exec ends ours
	if ret < 0 {
		return -1, errors.New("attaching to the container failed")
	}
	l, nnp, err := recvMachine(ours)
	if err != nil {
		// It exits without running the command, unless the listener
		// was lost here after it was sent (no descriptor left).
		unix.Kill(int(pid), unix.SIGKILL)
		var ws unix.WaitStatus
		unix.Wait4(int(pid), &ws, 0, nil)
		return -1, fmt.Errorf("--machine %s: %w; the command did not run", st.Machine, err)
	}
	defer l.Close()
	if nnp {
		m.logf("warning: --machine: no CAP_SYS_ADMIN in the container to install the uname filter, so no_new_privs is set: setuid programs (sudo, su) will not gain privileges")
	}
	cs := specs.ContainerProcessState{Pid: initPid, State: specs.State{ID: name, Pid: initPid, Status: specs.StateRunning}}
	if err := agent.HandOverLXC(st.SeccompAgent, cs, st.Machine, l); err != nil {
		m.logf("warning: %v: the command's 32-bit uname fails with ENOSYS (start armhf-shim seccomp-agent, then exec again)", err)
	}
	return int(pid), nil
}

// recvMachine receives machine_exec's report: the listener, and whether
// no_new_privs had to be set; or the errno of its seccomp call.
func recvMachine(sock *os.File) (*os.File, bool, error) {
	buf := make([]byte, 8)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, flags, err := recvmsg(int(sock.Fd()), buf, oob)
	if err != nil {
		return nil, false, fmt.Errorf("receiving the uname filter's listener: %w", err)
	}
	var fds []int
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for _, m := range msgs {
			if r, err := unix.ParseUnixRights(&m); err == nil {
				fds = append(fds, r...)
			}
		}
	}
	if n != 8 {
		closeAll(fds)
		return nil, false, errors.New("the attached process ended before installing the uname filter (see the liblxc log)")
	}
	errno := unix.Errno(int32(binary.NativeEndian.Uint32(buf[0:4])))
	nnp := binary.NativeEndian.Uint32(buf[4:8]) != 0
	if errno != 0 || len(fds) != 1 || flags&unix.MSG_CTRUNC != 0 {
		closeAll(fds)
	}
	switch {
	case errno == unix.EBUSY:
		return nil, nnp, notify.ErrListenerExists
	case errno != 0:
		return nil, nnp, fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER, NEW_LISTENER) in the container: %w", errno)
	case len(fds) != 1 || flags&unix.MSG_CTRUNC != 0:
		return nil, nnp, fmt.Errorf("receiving the uname filter's listener: %d descriptor(s) arrived (out of descriptors?)", len(fds))
	}
	return os.NewFile(uintptr(fds[0]), "seccomp-listener"), nnp, nil
}

func recvmsg(fd int, buf, oob []byte) (n, oobn, flags int, err error) {
	for {
		n, oobn, flags, _, err = unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != unix.EINTR {
			return n, oobn, flags, err
		}
	}
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// cStrings is a NULL-terminated C array of copies of ss, and its free.
func cStrings(ss []string) (**C.char, func()) {
	a := (*[1 << 20]*C.char)(C.calloc(C.size_t(len(ss)+1), C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	for i, s := range ss {
		a[i] = C.CString(s)
	}
	return &a[0], func() {
		for i := range ss {
			C.free(unsafe.Pointer(a[i]))
		}
		C.free(unsafe.Pointer(&a[0]))
	}
}

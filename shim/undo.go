package shim

import (
	"errors"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"syscall"

	"github.com/armhf-shim/armhf-shim/shim/runclog"
	"github.com/armhf-shim/armhf-shim/shim/runcstate"
	"github.com/armhf-shim/armhf-shim/uname"
	"golang.org/x/sys/unix"
)

// forwardedSignals are passed on to the runtime the wrapper waits for:
// those its callers send to stop it (conmon, containerd's go-runc, a
// terminal's ^C or ^\), which would otherwise stop the wrapper alone.
var forwardedSignals = []os.Signal{unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM, unix.SIGUSR1, unix.SIGUSR2}

// releaseSignals gives the process's signals back and raises again any
// that came while they were held: the wrapper dies of it as the runtime
// it was about to become would have.
func releaseSignals(sigs chan os.Signal) {
	signal.Stop(sigs)
	for {
		select {
		case s := <-sigs:
			raise(s.(unix.Signal))
		default:
			return
		}
	}
}

// raise sends sig to the calling thread with its default action: a
// signal sent to the process may go to another thread and the caller
// return before it acts.
func raise(sig unix.Signal) {
	goruntime.LockOSThread()
	signal.Reset(sig)
	unix.Tgkill(os.Getpid(), unix.Gettid(), sig)
}

// runcKnows reports whether runc has a container id under root (its
// state directory). Anything but "no such directory" counts as yes: the
// wrapper never removes the state of a container runc may still have.
func runcKnows(root, id string) bool {
	p, err := runcstate.Path(root, id)
	if err != nil {
		return true
	}
	_, err = os.Lstat(filepath.Dir(p))
	return !errors.Is(err, fs.ErrNotExist)
}

// runUndoing runs the runtime as the wrapper's child, with the wrapper's
// argv, environment and inherited file descriptors, in the LINUX32
// personality when the plan says so, and exits as it did. When the create
// failed, it removes the state the wrapper made for the container, unless
// runc has a container of that id it did not have before (a create that
// got as far as runc's own state: runc's delete, through the wrapper,
// removes both). Signals sent to the wrapper go to the runtime, and the
// runtime dies with the wrapper (Pdeathsig), as when it was exec'd.
func runUndoing(plan Plan, sigs chan os.Signal, log *runclog.Logger) int {
	u := plan.Undo
	// Pdeathsig follows the thread that forks: it stays, locked, until the
	// process exits. The personality is that thread's too.
	goruntime.LockOSThread()
	pid, err := -1, error(nil)
	if plan.Linux32 {
		err = uname.SetLinux32()
	}
	if err == nil {
		pid, err = syscall.ForkExec(plan.Path, plan.Argv, &syscall.ProcAttr{
			Env:   plan.Env,
			Files: inheritedFiles(),
			Sys:   &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
		})
	}
	if err != nil {
		undo(u, log)
		signal.Stop(sigs)
		log.Fatalf("exec %s: %v", plan.Path, err)
		return 1
	}
	go func() {
		for s := range sigs {
			unix.Kill(pid, s.(unix.Signal))
		}
	}()
	var ws syscall.WaitStatus
	for {
		_, err = syscall.Wait4(pid, &ws, 0, nil)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil || !ws.Exited() || ws.ExitStatus() != 0 {
		if u.RuncKnew || !runcKnows(u.RuncRoot, u.ID) {
			undo(u, log)
		} else {
			log.Debugf("container %s: %s failed, but runc has the container: its cpuinfo stays for the delete", u.ID, plan.Path)
		}
	}
	signal.Stop(sigs)
	if err != nil {
		log.Fatalf("waiting for %s: %v", plan.Path, err)
		return 1
	}
	if ws.Signaled() {
		// Die of the same signal, for a caller that looks at how the
		// runtime ended; 128+n where that signal is ignored.
		raise(ws.Signal())
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// undo removes the state of a container that was not created.
func undo(u *Undo, log *runclog.Logger) {
	if err := u.Dir.Remove(u.ID); err != nil {
		log.Warnf("container %s was not created; removing its cpuinfo: %v", u.ID, err)
		return
	}
	log.Debugf("container %s was not created: its cpuinfo removed", u.ID)
}

// inheritedFiles maps every descriptor the wrapper was given (those
// without close-on-exec: Go opens its own with it) to the same number in
// the child, as an exec would have left them — runc's stdio, a
// --preserve-fds range, a socket-activation listener; the others are
// closed there (-1).
func inheritedFiles() []uintptr {
	var open []int
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		for _, e := range ents {
			if n, err := strconv.Atoi(e.Name()); err == nil {
				open = append(open, n)
			}
		}
	} else {
		// No procfs: the low descriptors, one fcntl each.
		for n := 0; n < 1024; n++ {
			open = append(open, n)
		}
	}
	var files []uintptr
	for _, n := range open {
		flags, err := unix.FcntlInt(uintptr(n), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC != 0 {
			continue
		}
		for len(files) <= n {
			files = append(files, ^uintptr(0))
		}
		files[n] = uintptr(n)
	}
	return files
}

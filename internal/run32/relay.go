package run32

import (
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// relay makes this process stand in for the started cmd (the
// user-namespace child, in the same process group) until it is gone, so
// that to a shell the pair behaves like the command alone:
//
//   - signals sent to this process are forwarded to cmd, except those the
//     terminal sends to its whole foreground process group (SIGINT, SIGQUIT,
//     SIGTSTP, SIGWINCH, SIGHUP, and the shell's SIGCONT on fg) while ours
//     is that group: cmd got them too, and forwarding would deliver them
//     twice. SIGTTIN and SIGTTOU, which the kernel sends to a whole
//     background group, are never forwarded. (A signal sent to this
//     process alone by kill(1) while it is in the terminal's foreground is
//     therefore not forwarded if it is one of those: os/signal does not say
//     who sent a signal.);
//   - when cmd is stopped by job control (SIGTSTP, SIGTTIN, SIGTTOU) and
//     this process has a controlling terminal, this process stops with the
//     same signal, so that the shell sees the job stop and takes the
//     terminal back, and when continued it continues cmd. A SIGSTOP of cmd
//     alone (kill -STOP PID) is not mirrored: whoever sent it continues cmd
//     alone, and this process must not wait for a SIGCONT of its own;
//   - when cmd dies of a signal, this process dies of the same signal.
//
// It returns cmd's exit code; if cmd was killed by a signal that cannot be
// re-raised it returns 128+N, as a shell would report.
func relay(cmd *exec.Cmd) int {
	pid := cmd.Process.Pid
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs)
	defer signal.Stop(sigs)

	// mu orders forwarding against reaping, so that a signal is never sent
	// to a reused pid.
	var mu sync.Mutex
	reaped := false
	send := func(s syscall.Signal) {
		mu.Lock()
		if !reaped {
			syscall.Kill(pid, s)
		}
		mu.Unlock()
	}

	tty, _ := os.OpenFile("/dev/tty", os.O_RDONLY|syscall.O_NOCTTY, 0)
	if tty != nil {
		defer tty.Close()
	}
	// fromTerminal reports whether a signal the terminal sends to its
	// foreground process group can have come from it: ours is that group.
	fromTerminal := func() bool {
		if tty == nil {
			return false
		}
		fg, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP)
		return err == nil && fg == syscall.Getpgrp()
	}

	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sigs:
				sig, ok := s.(syscall.Signal)
				if !ok || sig == syscall.SIGCHLD || sig == syscall.SIGURG {
					continue
				}
				switch sig {
				case syscall.SIGTTIN, syscall.SIGTTOU:
					continue
				case syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTSTP, syscall.SIGWINCH, syscall.SIGHUP, syscall.SIGCONT:
					if fromTerminal() {
						continue
					}
				}
				send(sig)
			case <-done:
				return
			}
		}
	}()

	for {
		// Look before reaping, so that reaped is set before the pid can be
		// reused.
		var info unix.Siginfo
		if err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WSTOPPED|unix.WNOWAIT, nil); err != nil {
			if err == syscall.EINTR {
				continue
			}
			return 1
		}
		mu.Lock()
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(pid, &ws, syscall.WUNTRACED, nil)
		if err == nil && !ws.Stopped() {
			reaped = true
		}
		mu.Unlock()
		switch {
		case err != nil:
			if err == syscall.EINTR {
				continue
			}
			return 1
		case ws.Stopped():
			switch ws.StopSignal() {
			case syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU:
				if tty != nil {
					stopSelf(ws.StopSignal())
					send(syscall.SIGCONT)
				}
			}
		case ws.Signaled():
			signal.Stop(sigs)
			dieOf(ws.Signal())
			return 128 + int(ws.Signal())
		default:
			return ws.ExitStatus()
		}
	}
}

// stopSelf stops this process with sig (a stop signal), as the child was,
// and returns once it is continued. In an orphaned process group the kernel
// discards SIGTSTP, SIGTTIN and SIGTTOU; the child then cannot have been
// stopped by them either.
func stopSelf(sig syscall.Signal) {
	// The Go runtime's handler (installed by signal.Notify, and not
	// removed by signal.Reset) would catch it: apply the default action
	// for the time of the raise. A thread-directed signal is acted on
	// before tgkill returns to user space, so we get here continued.
	old := setSigaction(sig, &kernelSigaction{})
	unix.Tgkill(os.Getpid(), unix.Gettid(), sig)
	setSigaction(sig, &old)
}

// dieOf kills this process with sig under its default action, bypassing
// the Go runtime's handler, without a core dump of armhf-shim. It returns
// only if sig's default action does not kill.
func dieOf(sig syscall.Signal) {
	unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	setSigaction(sig, &kernelSigaction{})
	unix.Tgkill(os.Getpid(), unix.Gettid(), sig)
	syscall.Kill(os.Getpid(), sig)
}

// kernelSigaction holds a struct kernel_sigaction (at most 32 bytes on the
// 64-bit architectures); all zero is SIG_DFL, no flags, an empty mask.
type kernelSigaction [4]uint64

// setSigaction sets sig's action with rt_sigaction(2), under the Go
// runtime, and returns the previous one.
func setSigaction(sig syscall.Signal, act *kernelSigaction) kernelSigaction {
	var old kernelSigaction
	unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(act)),
		uintptr(unsafe.Pointer(&old)), 8, 0, 0)
	return old
}

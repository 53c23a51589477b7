package uname

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// Execution domains (include/uapi/linux/personality.h).
const (
	PerLinux   uint32 = 0x0000
	PerLinux32 uint32 = 0x0008
	perMask    uint32 = 0x00ff
	// perQuery asks personality(2) for the current value without changing it.
	perQuery uint32 = 0xffffffff
)

// Personality returns the calling thread's personality.
func Personality() (uint32, error) {
	r, _, errno := syscall.RawSyscall(unix.SYS_PERSONALITY, uintptr(perQuery), 0, 0)
	if errno != 0 {
		return 0, fmt.Errorf("personality(query): %w", errno)
	}
	return uint32(r), nil
}

// setPersonality sets the calling thread's personality. The personality
// is per thread: the caller must hold runtime.LockOSThread and act (exec,
// read /proc) on that same thread. On an arm64 kernel without 32-bit EL0
// support, PER_LINUX32 fails with EINVAL and nothing changes.
func setPersonality(p uint32) error {
	if _, _, errno := syscall.RawSyscall(unix.SYS_PERSONALITY, uintptr(p), 0, 0); errno != 0 {
		return fmt.Errorf("personality(%#x): %w", p, errno)
	}
	return nil
}

// setDomainOnThread sets the calling thread's execution domain to p,
// keeping flag bits, and returns the previous personality. A kernel that
// refuses PER_LINUX32 gives a *NoCompatError.
func setDomainOnThread(p uint32) (uint32, error) {
	cur, err := Personality()
	if err != nil {
		return 0, err
	}
	if err := setPersonality(withDomain(cur, p)); err != nil {
		if p == PerLinux32 && errors.Is(err, unix.EINVAL) {
			return cur, &NoCompatError{Machine: kernelMachine(), Err: err}
		}
		return cur, err
	}
	return cur, nil
}

// withDomain returns persona with its execution domain (low byte) replaced,
// keeping flag bits such as ADDR_NO_RANDOMIZE.
func withDomain(persona, domain uint32) uint32 {
	return persona&^perMask | domain&perMask
}

// WithPersonality runs fn on a locked OS thread whose execution domain is
// set to p (flag bits of the current personality are kept), then restores
// the previous personality. A kernel that refuses PER_LINUX32 (no 32-bit
// EL0) gives a *NoCompatError and fn does not run. If the restore fails the thread is left locked,
// so the Go runtime retires it rather than reusing it with the wrong persona.
func WithPersonality(p uint32, fn func() error) error {
	runtime.LockOSThread()
	cur, err := setDomainOnThread(p)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	ferr := fn()
	if err := setPersonality(cur); err != nil {
		// Keep the thread locked: it exits with the goroutine.
		return errors.Join(ferr, fmt.Errorf("restoring personality %#x: %w", cur, err))
	}
	runtime.UnlockOSThread()
	return ferr
}

// SetLinux32 locks the calling goroutine to its OS thread and switches that
// thread to PER_LINUX32, keeping flag bits. It is the first half of
// [ExecLinux32] for callers that must do more on the same thread (unshare a
// mount namespace, set affinity) before they exec. The thread stays locked.
func SetLinux32() error {
	runtime.LockOSThread()
	_, err := setDomainOnThread(PerLinux32)
	return err
}

// ExecLinux32 replaces the process with path in the LINUX32 personality,
// keeping flag bits of the current personality. It returns only on failure
// (a *NoCompatError when the kernel has no 32-bit mode).
func ExecLinux32(path string, argv, env []string) error {
	if err := SetLinux32(); err != nil {
		return err
	}
	err := syscall.Exec(path, argv, env)
	return fmt.Errorf("exec %s: %w", path, err)
}

// NoCompatError reports a kernel that refuses the 32-bit personality: an
// arm64 host without AArch32 at EL0 (Graviton4/Neoverse-V2, A64FX, Apple
// M-series, ...).
type NoCompatError struct {
	Machine string // the kernel's machine, e.g. aarch64
	Err     error
}

func (e *NoCompatError) Error() string {
	return fmt.Sprintf("this %s host cannot run 32-bit code natively: the kernel refuses the LINUX32 personality (%v), "+
		"so the CPU has no AArch32 at EL0; run armhf through QEMU user emulation instead (%s)",
		e.Machine, e.Err, EmulationAdvice("armhf"))
}

func (e *NoCompatError) Unwrap() error { return e.Err }

// Package run32 runs a program as if on a native 32-bit machine of the
// host's compat architecture (armv7 on arm64, i686 on x86_64).
//
// The model: three per-process properties make a program believe it runs
// on a 32-bit machine, and all three are inherited across execve, so
// run32 sets them on one locked OS thread and then replaces the process
// with syscall.Exec — it never stays around as a parent:
//
//  1. the LINUX32 personality (uname -m says armv8l / i686);
//  2. a private mount namespace in which a sealed in-memory file holding the
//     armv7 cpuinfo is bind-mounted read-only over /proc/cpuinfo (the host's
//     /proc/cpuinfo is untouched, and the mount disappears with the last
//     process of the namespace: nothing is left behind);
//  3. optionally, a CPU affinity matching the CPUs the fake cpuinfo lists.
//
// Without root, step 2 needs a user namespace, which a multi-threaded Go
// process cannot enter itself: the program re-executes itself into a new
// user+mount namespace (its uid and gid mapped to themselves, so the
// command still runs as the same user), and that parent waits and relays
// the exit status and signals. Where user namespaces are not allowed, the
// command runs with the personality only and a warning.
package run32

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/armhf-shim/armhf-shim/uname"
)

// Options say what to fake besides the personality.
type Options struct {
	// CPUInfo is bind-mounted over /proc/cpuinfo; nil leaves it alone.
	CPUInfo []byte
	// CPUs, if non-empty, becomes the CPU affinity of the program.
	CPUs []int
	// Warn reports a degraded mode (no cpuinfo without privileges).
	Warn func(msg string)
}

// NotFoundError is a command that does not exist (a shell exits 127) or
// cannot be executed (126).
type NotFoundError struct {
	Name string
	Err  error
	Code int
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s: %v", e.Name, e.Err) }

// LookPath resolves name like a shell: through PATH unless it contains a
// slash, with 127 for "not found" and 126 for "not executable".
func LookPath(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil {
		return p, nil
	}
	if errors.Is(err, exec.ErrDot) {
		return filepath.Abs(p)
	}
	var ee *exec.Error
	if errors.As(err, &ee) && errors.Is(ee.Err, exec.ErrNotFound) {
		return "", &NotFoundError{Name: name, Err: errors.New("command not found"), Code: 127}
	}
	var pe *os.PathError
	if errors.As(err, &pe) && errors.Is(pe.Err, os.ErrNotExist) {
		return "", &NotFoundError{Name: name, Err: errors.New("no such file or directory"), Code: 127}
	}
	return "", &NotFoundError{Name: name, Err: err, Code: 126}
}

// envUserns marks the re-executed child of the unprivileged path.
const envUserns = "_ARMHF_SHIM_USERNS_CHILD"

// Exec replaces the process with path (argv, env) in the 32-bit view. It
// returns only on error; a *uname.NoCompatError says the host has no
// native 32-bit support.
func Exec(path string, argv, env []string, o Options) error {
	inChild := os.Getenv(envUserns) == "1"
	if inChild {
		env = withoutEnv(env, envUserns)
	}
	// Personality first: on a host without AArch32 nothing else is done.
	if err := uname.SetLinux32(); err != nil {
		return err
	}
	if o.CPUInfo != nil {
		switch err := privateCPUInfo(o.CPUInfo); {
		case err == nil:
		case !inChild && needsUserns(err):
			if code, uerr := runInUserns(); uerr == nil {
				os.Exit(code)
			} else if o.Warn != nil {
				o.Warn(fmt.Sprintf("not root and no user namespace available (%v): running with the LINUX32 "+
					"personality only; /proc/cpuinfo is NOT faked", uerr))
			}
		default:
			return err
		}
	}
	if len(o.CPUs) > 0 {
		var set unix.CPUSet
		for _, c := range o.CPUs {
			set.Set(c)
		}
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			return fmt.Errorf("setting CPU affinity to %v: %w", o.CPUs, err)
		}
	}
	if inChild {
		// The capabilities that let us mount must not reach the command.
		unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
	}
	if err := syscall.Exec(path, argv, env); err != nil {
		code := 126
		if errors.Is(err, syscall.ENOENT) {
			code = 127
		}
		return &NotFoundError{Name: path, Err: err, Code: code}
	}
	return nil
}

func needsUserns(err error) bool {
	return errors.Is(err, unix.EPERM) && os.Geteuid() != 0
}

// privateCPUInfo moves the calling (locked) thread into a new mount
// namespace and bind-mounts a read-only file holding data over
// /proc/cpuinfo. The file lives on a small tmpfs that is mounted over a
// scratch directory only long enough to bind the file out of it: after the
// detach, the bind mount holds the only reference, so the data vanishes
// with the namespace. (A memfd cannot be bind-mounted: it lives on an
// internal mount outside the namespace, and mount(2) refuses it.)
func privateCPUInfo(data []byte) error {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("unshare(CLONE_NEWNS) for a private /proc/cpuinfo: %w", err)
	}
	// Our mounts must not propagate back to the host; host mounts may
	// still propagate in.
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("making / a slave mount: %w", err)
	}
	scratch := ""
	for _, d := range []string{"/tmp", "/run", "/dev", "/mnt"} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			scratch = d
			break
		}
	}
	if scratch == "" {
		return errors.New("no scratch directory (/tmp, /run, /dev or /mnt) to stage the cpuinfo file in")
	}
	if err := unix.Mount("armhf-shim", scratch, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=1m,mode=0755"); err != nil {
		return fmt.Errorf("mounting a private tmpfs on %s for the cpuinfo file: %w", scratch, err)
	}
	src := filepath.Join(scratch, "cpuinfo")
	err := os.WriteFile(src, data, 0o444)
	if err == nil {
		err = unix.Mount(src, "/proc/cpuinfo", "", unix.MS_BIND, "")
		if err != nil {
			err = fmt.Errorf("bind-mounting the armv7 cpuinfo over /proc/cpuinfo: %w", err)
		}
	}
	if uerr := unix.Unmount(scratch, unix.MNT_DETACH); uerr != nil && err == nil {
		err = fmt.Errorf("unmounting the private tmpfs on %s: %w", scratch, uerr)
	}
	if err != nil {
		return err
	}
	if err := unix.Mount("", "/proc/cpuinfo", "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("making /proc/cpuinfo read-only: %w", err)
	}
	return nil
}

// runInUserns runs this same command line again in a new user and mount
// namespace (uid and gid mapped to themselves, CAP_SYS_ADMIN kept across
// the re-exec as an ambient capability so the child can mount), waits for
// it and returns its exit code. The error says the namespace could not be
// made.
func runInUserns() (int, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	uid, gid := os.Getuid(), os.Getgid()
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), envUserns+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}},
		AmbientCaps: []uintptr{unix.CAP_SYS_ADMIN},
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	return relay(cmd), nil
}

func withoutEnv(env []string, key string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if len(kv) > len(key) && kv[:len(key)] == key && kv[len(key)] == '=' {
			continue
		}
		out = append(out, kv)
	}
	return out
}

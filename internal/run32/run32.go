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
// With a chroot (Options.Chroot), the same namespace also gets what a build
// chroot needs mounted in the root filesystem, as sbuild and pbuilder do —
// /proc (with the armv7 cpuinfo over its cpuinfo), /sys and a /dev — and
// the thread's root and working directory are changed before the exec:
// the mounts exist for the command and vanish with it.
//
// Without root, step 2 needs a user namespace, which a multi-threaded Go
// process cannot enter itself: the program re-executes itself into a new
// user+mount namespace (its uid and gid mapped to themselves, so the
// command still runs as the same user), and that parent waits and relays
// the exit status and signals. Where user namespaces are not allowed, the
// command runs with the personality only and a warning; a chroot is an
// error then, as it is for root without CAP_SYS_ADMIN.
//
// With a machine name (Options.Machine), uname(2) of 32-bit programs says
// that name instead of armv8l: the program re-executes itself as a child
// that installs a seccomp filter just before its exec and passes the
// listener back; the parent answers the filter's notifications (package
// uname/notify) and relays the child's exit status and signals as the
// unprivileged path does.
package run32

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/armhf-shim/armhf-shim/cpuinfo"
	"github.com/armhf-shim/armhf-shim/uname"
)

// Options say what to fake besides the personality.
type Options struct {
	// CPUInfo is bind-mounted over /proc/cpuinfo; nil leaves it alone.
	CPUInfo []byte
	// CPUs, if non-empty, becomes the CPU affinity of the program.
	CPUs []int
	// Chroot, if set, is a root filesystem to run the program in, with
	// /proc, /sys and /dev mounted in it (and CPUInfo over its
	// /proc/cpuinfo) in the private mount namespace; see enterChroot.
	Chroot string
	// Dir is the working directory inside Chroot ("/" when empty).
	Dir string
	// Machine, if set, is what uname(2) of 32-bit programs reports as
	// the machine: this process stays as their supervisor, answering
	// through seccomp user notification (see superviseMachine).
	Machine string
	// Hide lists directories that an empty tmpfs covers in the private
	// mount namespace (those that exist; needs CPUInfo, not Chroot): what
	// the command must not find of the host's, such as the host
	// containerd's socket that dind's dockerd would otherwise use.
	Hide []string
	// Warn reports a degraded mode (no cpuinfo without privileges).
	Warn func(msg string)

	// sock is the socket to the supervisor in a process started by
	// superviseMachine.
	sock *os.File
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

// Exec replaces the process with the program name (resolved like a shell
// does, inside Chroot if set) run with argv and env in the 32-bit view. It
// returns only on error; a *uname.NoCompatError says the host has no
// native 32-bit support, a *NotFoundError that name cannot be run.
func Exec(name string, argv, env []string, o Options) error {
	inChild := os.Getenv(envUserns) == "1"
	if inChild {
		env = withoutEnv(env, envUserns)
	}
	// Personality first: on a host without AArch32 nothing else is done.
	if err := uname.SetLinux32(); err != nil {
		return err
	}
	if o.Machine != "" {
		o.sock = notifySocket()
		switch {
		case o.sock == nil && inChild:
			return errors.New("--machine: the socket to the supervisor was not inherited")
		case o.sock == nil:
			code, err := superviseMachine(o)
			if err != nil {
				return err
			}
			os.Exit(code)
		}
		env = withoutEnv(env, envNotify)
	}
	var err error
	switch {
	case o.Chroot != "":
		err = enterChroot(o.Chroot, o.Dir, o.CPUInfo, inChild)
	case o.CPUInfo != nil:
		err = privateCPUInfo(o.CPUInfo, o.Hide)
	}
	if err != nil {
		if err := o.withoutNamespace(err, inChild); err != nil {
			return err
		}
	}
	if len(o.CPUs) > 0 {
		if err := setAffinity(o.CPUs); err != nil {
			return err
		}
	}
	path, err := LookPath(name)
	if err != nil {
		return err
	}
	if o.sock != nil {
		if err := installMachine(o, o.sock); err != nil {
			return err
		}
	}
	if inChild {
		// The capabilities that let us mount must not reach the command.
		if err := dropInheritableCaps(); err != nil {
			return err
		}
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

// withoutNamespace handles err, the failure to make the private mount
// namespace: it runs the command in a user namespace instead (and exits),
// or warns and returns nil to run it with the personality only, or
// returns the error. A chroot is never entered without its mounts.
func (o Options) withoutNamespace(err error, inChild bool) error {
	chroot := o.Chroot != ""
	switch {
	case !notPermitted(err):
		return err
	case inChild && chroot:
		return fmt.Errorf("%w (inside a user namespace)", err)
	case inChild:
		// The user namespace exists but an LSM or seccomp refuses the mount.
		warnNoCPUInfo(o, fmt.Sprintf("%v (inside a user namespace)", err))
	case os.Geteuid() == 0:
		// Root without CAP_SYS_ADMIN (a Docker container, a capability-
		// dropped build user). A user namespace would give the
		// capability back, but map only uid 0: the command could no
		// longer chown, switch users (apt's _apt, dpkg) or read other
		// users' files. The personality alone keeps root root.
		const why = "root without CAP_SYS_ADMIN; a user namespace is not used for root: it would map no uid but 0"
		if chroot {
			return fmt.Errorf("--chroot needs a private mount namespace: %w (%s); run with CAP_SYS_ADMIN "+
				"(docker run --cap-add SYS_ADMIN)", err, why)
		}
		warnNoCPUInfo(o, fmt.Sprintf("%v (%s)", err, why))
	default:
		// Not root: a user namespace gives the capability back inside it
		// (the command keeps its uid).
		code, uerr := runInUserns(chroot, o.sock)
		if uerr == nil {
			os.Exit(code)
		}
		if chroot {
			return fmt.Errorf("--chroot needs a private mount namespace: %w; a user namespace could not be made either: %v "+
				"(allow user namespaces: sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone; or run as root)", err, uerr)
		}
		warnNoCPUInfo(o, fmt.Sprintf("%v; a user namespace could not be made either: %v", err, uerr))
	}
	return nil
}

// AffinityError is a CPU affinity the kernel did not give in full: the
// CPUs are offline, absent, or outside the process's cgroup cpuset (the
// kernel silently leaves such CPUs out).
type AffinityError struct {
	Missing cpuinfo.CPUSet // asked for, not given
	Online  cpuinfo.CPUSet // the host's online CPUs (empty if unknown)
}

func (e *AffinityError) Error() string {
	cpus := "CPUs " + e.Missing.String()
	if e.Missing.Len() == 1 {
		cpus = "CPU " + e.Missing.String()
	}
	msg := "cannot run on " + cpus + ": offline, absent or outside this process's cpuset"
	if !e.Online.IsEmpty() {
		msg += " (online: " + e.Online.String() + ")"
	}
	return msg
}

// onlineCPUs is the kernel's list of online CPUs.
const onlineCPUs = "/sys/devices/system/cpu/online"

// setAffinity pins the calling thread (and what it execs) to cpus, and
// checks that the kernel gave every one of them.
func setAffinity(cpus []int) error {
	var set unix.CPUSet
	for _, c := range cpus {
		set.Set(c)
	}
	serr := unix.SchedSetaffinity(0, &set)
	if serr != nil && serr != unix.EINVAL {
		return fmt.Errorf("setting the CPU affinity: %w", serr)
	}
	// EINVAL: none of cpus is allowed; the affinity is unchanged.
	got, err := cpuinfo.Affinity()
	if err != nil {
		return err
	}
	var missing []int
	for _, c := range cpus {
		if serr != nil || !got.Contains(c) {
			missing = append(missing, c)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	e := &AffinityError{}
	if e.Missing, err = cpuinfo.NewCPUSet(missing...); err != nil {
		return err
	}
	if b, err := os.ReadFile(onlineCPUs); err == nil {
		e.Online, _ = cpuinfo.ParseCPUSet(string(b))
	}
	return e
}

// notPermitted reports a namespace or mount operation refused for lack of
// privilege: EPERM whatever the euid (root without CAP_SYS_ADMIN gets it
// too), or EACCES from an LSM.
func notPermitted(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES)
}

// warnNoCPUInfo reports the personality-only fallback.
func warnNoCPUInfo(o Options, why string) {
	if o.Warn == nil {
		return
	}
	o.Warn("cannot fake /proc/cpuinfo: " + why + ". Running with the LINUX32 personality only; /proc/cpuinfo is " +
		"the host's. To fake it, run as root with CAP_SYS_ADMIN (docker run --privileged or --cap-add SYS_ADMIN) " +
		"or allow user namespaces (sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone); " +
		"pass --no-cpuinfo to run without it and silence this warning")
}

// privateCPUInfo moves the calling (locked) thread into a new mount
// namespace and bind-mounts a read-only file holding data over
// /proc/cpuinfo.
func privateCPUInfo(data []byte, hide []string) error {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("unshare(CLONE_NEWNS): %w", err)
	}
	// Our mounts must not propagate back to the host; host mounts may
	// still propagate in.
	var scratch string
	slave := false
	switch err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); {
	case err == nil:
		slave = true
		var serr error
		if scratch, serr = scratchDir(); serr != nil {
			return serr
		}
	case errors.Is(err, unix.EINVAL):
		// A chroot whose / is a plain directory, not a mount point
		// (sbuild, pbuilder, debootstrap): / cannot be named, so make
		// slaves of the mounts we do touch. Both the bind over
		// /proc/cpuinfo and the scratch tmpfs sit on /proc.
		var serr error
		if scratch, serr = procScratch(); serr != nil {
			return serr
		}
	default:
		return fmt.Errorf("making / a slave mount: %w", err)
	}
	for _, d := range hide {
		if !slave {
			// Without a slave /, a mount on d could reach the host.
			return fmt.Errorf("cannot hide %s: / is not a mount point", d)
		}
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			continue
		}
		if err := unix.Mount("tmpfs", d, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0711"); err != nil {
			return fmt.Errorf("hiding %s (tmpfs): %w", d, err)
		}
	}
	return bindCPUInfo(data, scratch, "/proc/cpuinfo")
}

// scratchDir returns a directory to stage the cpuinfo file on (a tmpfs is
// mounted over it for a moment, in our namespace only).
func scratchDir() (string, error) {
	for _, d := range []string{"/tmp", "/run", "/dev", "/mnt"} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d, nil
		}
	}
	return "", errors.New("no scratch directory (/tmp, /run, /dev or /mnt) to stage the cpuinfo file in; " +
		"create /tmp or pass --no-cpuinfo")
}

// bindCPUInfo bind-mounts a read-only file holding data over target (a
// /proc/cpuinfo). The file lives on a small tmpfs that is mounted over
// scratch only long enough to bind the file out of it: after the detach,
// the bind mount holds the only reference, so the data vanishes with the
// namespace. (A memfd cannot be bind-mounted: it lives on an internal mount
// outside the namespace, and mount(2) refuses it.)
func bindCPUInfo(data []byte, scratch, target string) error {
	if err := unix.Mount("armhf-shim", scratch, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=1m,mode=0755"); err != nil {
		return fmt.Errorf("mounting a private tmpfs on %s for the cpuinfo file: %w", scratch, err)
	}
	err := bindFile(data, filepath.Join(scratch, "cpuinfo"), target)
	if uerr := unix.Unmount(scratch, unix.MNT_DETACH); uerr != nil && err == nil {
		err = fmt.Errorf("unmounting the private tmpfs on %s: %w", scratch, uerr)
	}
	return err
}

// bindFile writes data to the new file src (on a tmpfs of this namespace)
// and bind-mounts it read-only over target.
func bindFile(data []byte, src, target string) error {
	if err := bindData(data, src, target); err != nil {
		return err
	}
	return remountReadOnly(target)
}

// bindData writes data to the new file src and bind-mounts it over target.
func bindData(data []byte, src, target string) error {
	if err := os.WriteFile(src, data, 0o444); err != nil {
		return err
	}
	if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mounting the armv7 cpuinfo over %s: %w", target, err)
	}
	return nil
}

// remountReadOnly makes the bind mount at target read-only (a bind mount
// takes its flags only from a remount).
func remountReadOnly(target string) error {
	if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("making %s read-only: %w", target, err)
	}
	return nil
}

// procScratch makes the /proc mount (and those below it) a slave, so that
// mounts made on it stay in this namespace, and returns a directory of
// procfs to stage the cpuinfo file on. It is the path for a chroot whose /
// is not a mount point.
func procScratch() (string, error) {
	if err := unix.Mount("", "/proc", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		if errors.Is(err, unix.EINVAL) {
			return "", errors.New("/ is not a mount point (a chroot?) and neither is /proc: mount procfs in it " +
				"(mount -t proc proc /proc) or pass --no-cpuinfo")
		}
		return "", fmt.Errorf("making /proc a slave mount (/ is not a mount point, a chroot?): %w", err)
	}
	for _, d := range []string{"/proc/driver", "/proc/fs", "/proc/tty", "/proc/bus", "/proc/sys"} {
		if st, err := os.Lstat(d); err == nil && st.IsDir() {
			return d, nil
		}
	}
	return "", errors.New("/ is not a mount point (a chroot?) and /proc has no directory (driver, fs, tty, bus, sys) " +
		"to stage the cpuinfo file on; pass --no-cpuinfo")
}

// runInUserns runs this same command line again in a new user and mount
// namespace (uid and gid mapped to themselves, CAP_SYS_ADMIN, and for a
// chroot CAP_SYS_CHROOT, kept across the re-exec as ambient capabilities
// so the child can mount and chroot; sock, the socket to a --machine
// supervisor if not nil, passed on), waits for it and returns its exit
// code. The error says the namespace could not be made.
func runInUserns(chroot bool, sock *os.File) (int, error) {
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
	if chroot {
		cmd.SysProcAttr.AmbientCaps = append(cmd.SysProcAttr.AmbientCaps, unix.CAP_SYS_CHROOT)
	}
	if sock != nil {
		// The child installs the filter (it has CAP_SYS_ADMIN there) and
		// sends the listener to the supervisor above us.
		cmd.ExtraFiles = []*os.File{sock}
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	return relay(cmd), nil
}

// dropInheritableCaps empties the ambient and inheritable capability sets
// of the calling thread, so that nothing of the CAP_SYS_ADMIN the
// user-namespace child was given survives its execve (the permitted and
// effective sets of a non-root execve are rebuilt from those two).
func dropInheritableCaps() error {
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clearing the ambient capabilities before running the command: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("reading the capabilities before running the command: %w", err)
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("clearing the inheritable capabilities before running the command: %w", err)
	}
	return nil
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

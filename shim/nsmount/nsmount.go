// Package nsmount bind-mounts a host file over a file of a container,
// inside the container's mount namespace, from an OCI hook.
//
// The model: an OCI hook runs either inside the container's mount
// namespace before pivot_root or outside it, on the host:
//
//   - runc's createContainer hooks are run by runc init, whose parent is
//     the container's pid 1; the state's pid is that parent;
//   - crun's createContainer hooks are run by the container process itself
//     after its mounts and before pivot_root, with "pid": 0 in the state
//     (crun container_init_setup: do_hooks(def, 0, …, "created"));
//   - prestart and createRuntime hooks are run by the runtime on the host,
//     in its namespaces and with its credentials, with the container's
//     real pid (runc 1.1 and crun both run them once the container's
//     mounts, /proc included, are in place).
//
// So a Pid of 0 means "the caller is already in the container's mount
// namespace" and nothing is joined; the procfs check below is then what
// keeps a mount from landing anywhere else. The steps:
//
//  1. the source is cloned as a detached, read-only mount while still in
//     the caller's namespace (open_tree(OPEN_TREE_CLONE) + mount_setattr):
//     it need not be visible inside the container at all;
//  2. a locked OS thread leaves the Go runtime's shared filesystem context
//     (unshare(CLONE_FS), which setns(CLONE_NEWNS) requires of a
//     multi-threaded process) and joins /proc/<pid>/ns/mnt unless it is
//     already in that namespace; the thread is never reused;
//  3. the container's root there is its rootfs path before pivot_root and
//     "/" after; the target is opened with that as root and no symlink
//     followed anywhere (openat2 RESOLVE_IN_ROOT|RESOLVE_NO_SYMLINKS, or a
//     component-by-component O_NOFOLLOW walk where openat2 is missing), so
//     a symlink in the image — /proc -> /, proc/cpuinfo -> /etc/passwd —
//     can never lead outside the container's tree;
//  4. the target's directory must be on procfs (the container's own /proc,
//     already mounted by the runtime) and the target a regular file:
//     procfs's own cpuinfo, or a file the spec bind-mounts over it (LXCFS's
//     /var/lib/lxcfs/proc/cpuinfo), which is mounted over in turn, as the
//     runtime wrapper replaces such a mount. Anything else is refused,
//     which also stops a mount onto the host if the namespace was not the
//     container's;
//  5. move_mount attaches the detached mount onto the target's fd.
package nsmount

import (
	"errors"
	"fmt"
	"os"
	"path"
	"runtime"
	"strconv"

	"github.com/armhf-shim/armhf-shim/internal/inroot"
	"golang.org/x/sys/unix"
)

// Request describes one mount.
type Request struct {
	// Pid is the container's init process as the OCI state gives it; 0
	// when the caller runs inside the container's mount namespace (crun's
	// createContainer hooks), which is then not joined.
	Pid int
	// Rootfs is the container's root.path (absolute, as on the host).
	Rootfs string
	// Source is the host file to mount.
	Source string
	// Target is the path inside the container, e.g. "/proc/cpuinfo".
	Target string
}

// ErrNotProc is returned when the target is not a file in procfs.
var ErrNotProc = errors.New("mount target is not on the container's procfs")

// BindReadOnly mounts r.Source read-only (nosuid, nodev, noexec) over
// r.Target inside the container.
func BindReadOnly(r Request) error {
	tree, err := unix.OpenTree(unix.AT_FDCWD, r.Source, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return fmt.Errorf("open_tree %s: %w", r.Source, err)
	}
	defer unix.Close(tree)
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, attr); err != nil {
		return fmt.Errorf("mount_setattr read-only %s: %w", r.Source, err)
	}
	nsfd, same, err := containerNS(r.Pid)
	if err != nil {
		return err
	}
	if nsfd >= 0 {
		defer unix.Close(nsfd)
	}
	errc := make(chan error, 1)
	go func() {
		// The thread's namespace and fs context change for good: keep it
		// locked so it exits with this goroutine instead of being reused.
		runtime.LockOSThread()
		errc <- func() error {
			if !same {
				if err := unix.Unshare(unix.CLONE_FS); err != nil {
					return fmt.Errorf("unshare(CLONE_FS): %w", err)
				}
				if err := unix.Setns(nsfd, unix.CLONE_NEWNS); err != nil {
					return fmt.Errorf("joining the mount namespace of pid %d: %w", r.Pid, err)
				}
			}
			target, err := OpenTarget(ContainerRoot(r.Rootfs), r.Target)
			if err != nil {
				return err
			}
			defer target.Close()
			if err := unix.MoveMount(tree, "", int(target.Fd()), "",
				unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
				return fmt.Errorf("move_mount onto %s: %w", r.Target, err)
			}
			return nil
		}()
	}()
	return <-errc
}

// containerNS opens the container's mount namespace and reports whether
// the caller is already in it.
func containerNS(pid int) (fd int, same bool, err error) {
	if pid < 0 {
		return -1, false, fmt.Errorf("invalid container pid %d in the hook state", pid)
	}
	// crun's createContainer: run by the container process itself, in its
	// namespaces, with pid 0 in the state.
	if pid == 0 {
		return -1, true, nil
	}
	// Run by the container's init itself (runc's createContainer): the
	// state's pid is our parent, seen from inside its pid namespace, and
	// /proc is still the host's, so /proc/<pid> would be someone else.
	if os.Getppid() == pid {
		return -1, true, nil
	}
	p := "/proc/" + strconv.Itoa(pid) + "/ns/mnt"
	fd, err = unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, false, fmt.Errorf("container mount namespace: %w", err)
	}
	var theirs, ours unix.Stat_t
	if err := unix.Fstat(fd, &theirs); err != nil {
		unix.Close(fd)
		return -1, false, err
	}
	if err := unix.Stat("/proc/self/ns/mnt", &ours); err != nil {
		unix.Close(fd)
		return -1, false, err
	}
	return fd, theirs.Dev == ours.Dev && theirs.Ino == ours.Ino, nil
}

// ContainerRoot is the container's root directory in the current mount
// namespace: its rootfs before pivot_root, "/" after (when the host path
// of the rootfs no longer exists there or is "/" itself).
func ContainerRoot(rootfs string) string {
	var rs, slash unix.Stat_t
	if rootfs == "" || unix.Stat(rootfs, &rs) != nil || rs.Mode&unix.S_IFMT != unix.S_IFDIR {
		return "/"
	}
	if unix.Stat("/", &slash) == nil && rs.Dev == slash.Dev && rs.Ino == slash.Ino {
		return "/"
	}
	return rootfs
}

// OpenTarget opens target with root as "/" as an O_PATH handle, following
// no symlink on the way, and checks that its directory is on procfs and
// that it is a regular file (procfs's own, or a file mounted over it).
func OpenTarget(root, target string) (*os.File, error) {
	r, err := inroot.Open(root)
	if err != nil {
		return nil, fmt.Errorf("opening the container root %s: %w", root, err)
	}
	defer r.Close()
	dir, base := path.Split(path.Clean("/" + target))
	if base == "" {
		return nil, fmt.Errorf("mount target %q names no file", target)
	}
	dfd, err := r.OpenNoSymlinks(dir, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return nil, fmt.Errorf("resolving %s in the container root %s (no symlinks allowed): %w", dir, root, err)
	}
	defer unix.Close(dfd)
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(dfd, &sfs); err != nil {
		return nil, fmt.Errorf("statfs %s: %w", dir, err)
	}
	if sfs.Type != unix.PROC_SUPER_MAGIC {
		return nil, fmt.Errorf("%s in %s (filesystem %#x): %w", dir, root, sfs.Type, ErrNotProc)
	}
	// One component, not followed if it is a symlink (then not a regular
	// file, refused below).
	fd, err := unix.Openat(dfd, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("resolving %s in the container root %s (no symlinks allowed): %w", target, root, err)
	}
	f := os.NewFile(uintptr(fd), target)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", target, err)
	}
	// A procfs directory holds no files but its own: a regular file of
	// another filesystem there is a mount over one (the spec's, e.g. LXCFS).
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		f.Close()
		return nil, fmt.Errorf("%s in %s (mode %#o) is not a regular file: %w", target, root, st.Mode, ErrNotProc)
	}
	return f, nil
}

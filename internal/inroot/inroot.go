// Package inroot opens paths inside a directory tree as if that tree were
// "/": absolute symlinks and ".." resolve inside it, and nothing outside it
// is ever opened. It serves the runtime wrapper (finding a container's
// executable in its rootfs) and the OCI hook (the /proc/cpuinfo to mount
// over), both of which read trees a container image controls.
//
// The model: the kernel does the resolution — openat2(2) with
// RESOLVE_IN_ROOT and RESOLVE_NO_MAGICLINKS from an O_PATH handle of the
// root, one race-free system call per lookup. On a kernel without openat2
// (before 5.6, or under a seccomp filter that refuses it: ENOSYS or EPERM)
// github.com/cyphar/filepath-securejoin walks the path in user space and
// the result is opened without following a final symlink; the first such
// failure switches the process to the walk for good. Both are plain
// system calls: this runs in short-lived processes where the *os.File and
// poller machinery would be most of the cost.
package inroot

import (
	"sync/atomic"

	"github.com/armhf-shim/armhf-shim/internal/fsutil"
	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// noOpenat2 is set for good on the first ENOSYS or EPERM from openat2
// (tests set it to exercise the walk).
var noOpenat2 atomic.Bool

// ForceWalk makes every later lookup use the securejoin walk (on) or
// openat2 again (off), for tests of both paths.
func ForceWalk(on bool) { noOpenat2.Store(on) }

// Root is a directory tree opened for lookups.
type Root struct {
	path string
	fd   int // an O_PATH handle of the root (-1: the securejoin walk)
}

// Open opens the root directory path.
func Open(path string) (*Root, error) {
	r := &Root{path: path, fd: -1}
	if noOpenat2.Load() {
		var st unix.Stat_t
		if err := unix.Stat(path, &st); err != nil {
			return nil, err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return nil, unix.ENOTDIR
		}
		return r, nil
	}
	fd, err := fsutil.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	r.fd = fd
	return r, nil
}

// Close releases the root.
func (r *Root) Close() {
	if r.fd >= 0 {
		unix.Close(r.fd)
		r.fd = -1
	}
}

// OpenFile opens name (absolute or relative, taken from the root) with
// flags (O_CLOEXEC is added), following symlinks inside the root, and
// returns the file descriptor.
func (r *Root) OpenFile(name string, flags int) (int, error) {
	flags |= unix.O_CLOEXEC
	if r.fd >= 0 {
		how := unix.OpenHow{Flags: uint64(flags), Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
		for attempt := 0; ; attempt++ {
			fd, err := unix.Openat2(r.fd, name, &how)
			switch {
			case err == nil:
				return fd, nil
			case (err == unix.EAGAIN || err == unix.EINTR) && attempt < 8:
				continue // a concurrent rename or mount in the tree
			case err == unix.ENOSYS || err == unix.EPERM:
				noOpenat2.Store(true)
				unix.Close(r.fd)
				r.fd = -1
				return r.OpenFile(name, flags)
			}
			return -1, err
		}
	}
	host, err := securejoin.SecureJoin(r.path, name)
	if err != nil {
		return -1, err
	}
	// The walk resolved every symlink; one appearing since is not followed.
	return fsutil.Open(host, flags|unix.O_NOFOLLOW, 0)
}

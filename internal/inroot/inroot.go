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
	"path"
	"strings"
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
	if fd, ok, err := r.openat2(name, flags, unix.RESOLVE_IN_ROOT|unix.RESOLVE_NO_MAGICLINKS); ok {
		return fd, err
	}
	host, err := securejoin.SecureJoin(r.path, name)
	if err != nil {
		return -1, err
	}
	// The walk resolved every symlink; one appearing since is not followed.
	return fsutil.Open(host, flags|unix.O_NOFOLLOW, 0)
}

// OpenNoSymlinks opens name (taken from the root) with flags (O_CLOEXEC is
// added) following no symlink at all: a symlink anywhere on the way is an
// error (ELOOP). It is for a target that must be exactly where it is named
// (a mount point), not where a link in the tree would send it. With no
// symlink followed, ".." is the lexical parent (never above the root), so
// name is cleaned first; without openat2, each component is then opened in
// turn with O_NOFOLLOW.
func (r *Root) OpenNoSymlinks(name string, flags int) (int, error) {
	flags |= unix.O_CLOEXEC
	name = path.Clean("/" + name)
	if fd, ok, err := r.openat2(name, flags, unix.RESOLVE_IN_ROOT|unix.RESOLVE_NO_SYMLINKS|unix.RESOLVE_NO_MAGICLINKS); ok {
		return fd, err
	}
	cur, err := fsutil.Open(r.path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	var parts []string
	if name != "/" {
		parts = strings.Split(name[1:], "/")
	}
	for i, p := range parts {
		fl := unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if i == len(parts)-1 {
			fl = flags | unix.O_NOFOLLOW
		}
		next, err := unix.Openat(cur, p, fl, 0)
		unix.Close(cur)
		if err != nil {
			return -1, err
		}
		var st unix.Stat_t
		if err := unix.Fstat(next, &st); err != nil {
			unix.Close(next)
			return -1, err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			unix.Close(next)
			return -1, unix.ELOOP
		}
		cur = next
	}
	return cur, nil
}

// openat2 opens name below the root's handle with resolve; ok is false
// when openat2 cannot be used (none, or the first ENOSYS or EPERM, which
// switches the process to the user-space walks for good).
func (r *Root) openat2(name string, flags int, resolve uint64) (fd int, ok bool, err error) {
	if r.fd < 0 {
		return -1, false, nil
	}
	how := unix.OpenHow{Flags: uint64(flags), Resolve: resolve}
	for attempt := 0; ; attempt++ {
		fd, err := unix.Openat2(r.fd, name, &how)
		switch {
		case (err == unix.EAGAIN || err == unix.EINTR) && attempt < 8:
			continue // a concurrent rename or mount in the tree
		case err == unix.ENOSYS || err == unix.EPERM:
			noOpenat2.Store(true)
			unix.Close(r.fd)
			r.fd = -1
			return -1, false, nil
		}
		return fd, true, err
	}
}

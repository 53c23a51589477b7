// Package fsutil holds the file-system edge of armhf-shim: atomic writes
// and reads that cost a process no more than the system calls.
//
// Every file armhf-shim writes that another program reads concurrently (a
// bundle's config.json read by runc, daemon.json read by dockerd, a cpuinfo
// bind-mount source) is written to a temporary file in the same directory,
// synced when it must outlive a reboot, and renamed over the target, so a
// reader sees the old or the new content and never a torn one, and a
// failure leaves the old file intact.
//
// The runtime wrapper is a process that lives about two milliseconds, on
// every container operation. There the *os.File machinery is not free: the
// first os.Open of a process creates Go's network poller (epoll_create1,
// eventfd2, epoll_ctl) and every later one tries to register the file with
// it. [ReadFile] and the writers here use the system calls directly
// (open, fstat, read, close; open O_EXCL, write, fchmod, close, rename)
// and return the same *fs.PathError values os does, so callers test them
// with errors.Is(err, fs.ErrNotExist) or [IsNotExist] as before.
package fsutil

import (
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// ReadFile is os.ReadFile with plain system calls (no *os.File, no
// poller). Errors are *fs.PathError, as from os.
func ReadFile(path string) ([]byte, error) {
	data, _, err := ReadFilePerm(path)
	return data, err
}

// ReadFilePerm is ReadFile that also returns the file's permission bits
// (from the fstat it does anyway; 0644 should that fail), for a caller
// that will replace the file keeping its mode.
func ReadFilePerm(path string) ([]byte, fs.FileMode, error) {
	fd, err := Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, 0, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	size := 512                // procfs and sysfs files report size 0
	perm := fs.FileMode(0o644) // if fstat should fail
	whole := -1                // a regular file's size: a short read that reaches it is the end
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil {
		perm = fs.FileMode(st.Mode & 0o777)
		if st.Size > 0 && st.Size < 1<<30 {
			size = int(st.Size) + 1 // +1: see EOF without growing
			if st.Mode&unix.S_IFMT == unix.S_IFREG {
				whole = int(st.Size)
			}
		}
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, 0, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return buf, perm, nil
		}
		buf = buf[:len(buf)+n]
		if whole >= 0 && len(buf) >= whole && len(buf) < cap(buf) {
			// Linux reads a regular file short only at its end: no
			// second read(2) to be told so.
			return buf, perm, nil
		}
	}
}

// IsNotExist reports whether err is an *fs.PathError for ENOENT, as
// [ReadFile] and os return: errors.Is(err, fs.ErrNotExist) without the
// dynamic interface lookups (a measurable part of a short process's start).
func IsNotExist(err error) bool {
	pe, ok := err.(*fs.PathError)
	return ok && pe.Err == unix.ENOENT
}

// Open is open(2), retried on EINTR; it returns the raw descriptor.
func Open(path string, flags int, perm uint32) (int, error) {
	for {
		fd, err := unix.Open(path, flags, perm)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// WriteFileAtomic replaces path with data, durably: the data is synced
// before the rename, so after a crash the file is old or new, never empty.
// For configuration that outlives a reboot (daemon.json, state files). The
// file gets mode perm exactly (umask does not apply). On any error the
// previous file, if any, is unchanged and no temporary file is left.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return replace(path, data, perm)
}

func replace(path string, data []byte, perm os.FileMode) error {
	fail := func(op string, err error) error {
		return &fs.PathError{Op: "writing (" + op + ")", Path: path, Err: err}
	}
	dir, base := filepath.Split(path)
	prefix := dir + "." + base + ".tmp-" + strconv.Itoa(os.Getpid()) + "-"
	var tmp string
	var fd int
	var err error
	for try := 0; ; try++ {
		tmp = prefix + strconv.FormatUint(rand.Uint64()>>16, 36)
		fd, err = Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
		if err != unix.EEXIST || try == 100 {
			break
		}
	}
	if err != nil {
		return fail("create", err)
	}
	ok := false
	defer func() {
		if !ok {
			unix.Close(fd)
			unix.Unlink(tmp)
		}
	}()
	if err := writeAll(fd, data); err != nil {
		return fail("write", err)
	}
	if err := unix.Fchmod(fd, uint32(perm.Perm())); err != nil {
		return fail("chmod", err)
	}
	if err := unix.Fsync(fd); err != nil {
		return fail("fsync", err)
	}
	ok = true
	if err := unix.Close(fd); err != nil {
		unix.Unlink(tmp)
		return fail("close", err)
	}
	if err := unix.Rename(tmp, path); err != nil {
		unix.Unlink(tmp)
		return fail("rename", err)
	}
	return nil
}

// FileID identifies a file: its device and inode. Two paths name the same
// file — through a symlink, a hard link or a bind mount — exactly when
// their FileIDs are equal; the wrappers use it to recognise themselves
// without resolving a path.
type FileID struct{ Dev, Ino uint64 }

// String is "dev.ino".
func (id FileID) String() string {
	return strconv.FormatUint(id.Dev, 10) + "." + strconv.FormatUint(id.Ino, 10)
}

// SameFile reports whether two paths name one file (following symlinks),
// or are one path when either is absent.
func SameFile(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	x, _, err1 := Identify(a)
	y, _, err2 := Identify(b)
	return err1 == nil && err2 == nil && x == y
}

// Identify stats p (following symlinks) and returns its identity and
// whether it is an executable regular file. Errors are *fs.PathError.
func Identify(p string) (id FileID, executable bool, err error) {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return FileID{}, false, &fs.PathError{Op: "stat", Path: p, Err: err}
	}
	executable = st.Mode&unix.S_IFMT == unix.S_IFREG && st.Mode&0o111 != 0
	return FileID{Dev: uint64(st.Dev), Ino: st.Ino}, executable, nil
}

// writeAll writes all of b to fd, retrying a write interrupted by a signal.
func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

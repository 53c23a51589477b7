package fsutil

import (
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ReplaceOwnedFile replaces path with data, mode perm and owner uid:gid
// (a bundle's config.json keeps the owner and mode it was read with),
// without fsync. The data is written to an unnamed file (O_TMPFILE) that
// gets a name only for the rename, so a process killed while writing
// leaves nothing behind; names left by a writer killed between the two
// (".<base>.tmp-<pid>-…" of a process that is gone) are removed first.
// Where the file system has no O_TMPFILE, a named temporary file is used.
func ReplaceOwnedFile(path string, data []byte, perm fs.FileMode, uid, gid int) error {
	fail := func(op string, err error) error {
		return &fs.PathError{Op: "writing (" + op + ")", Path: path, Err: err}
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	removeStaleTemps(dir, "."+base+".tmp-")
	fd, err := Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	unnamed := err == nil
	tmp := ""
	if !unnamed {
		tmp = tempName(dir, base)
		if fd, err = Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600); err != nil {
			return fail("create", err)
		}
	}
	ok := false
	defer func() {
		if !ok {
			unix.Close(fd)
			if tmp != "" {
				unix.Unlink(tmp)
			}
		}
	}()
	if err := writeAll(fd, data); err != nil {
		return fail("write", err)
	}
	if uid != os.Geteuid() || gid != os.Getegid() {
		// An owner this process may not give (not root, or one unmapped
		// in its user namespace) leaves the file its own, as a plain
		// write would.
		if err := unix.Fchown(fd, uid, gid); err != nil && err != unix.EPERM && err != unix.EINVAL {
			return fail("chown", err)
		}
	}
	// After the chown, which clears the set-id bits.
	if err := unix.Fchmod(fd, uint32(perm.Perm())); err != nil {
		return fail("chmod", err)
	}
	if unnamed {
		tmp = tempName(dir, base)
		if err := unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, tmp, unix.AT_SYMLINK_FOLLOW); err != nil {
			tmp = ""
			return fail("link", err)
		}
	}
	ok = true
	unix.Close(fd)
	if err := unix.Rename(tmp, path); err != nil {
		unix.Unlink(tmp)
		return fail("rename", err)
	}
	return nil
}

// tempName is a temporary name beside base in dir, carrying this
// process's id so that a leftover can be told stale.
func tempName(dir, base string) string {
	return filepath.Join(dir, "."+base+".tmp-"+strconv.Itoa(os.Getpid())+"-"+strconv.FormatUint(rand.Uint64()>>16, 36))
}

// removeStaleTemps removes the files in dir named prefix<pid>-… whose
// process no longer exists.
func removeStaleTemps(dir, prefix string) {
	fd, err := Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	buf := make([]byte, 4096)
	for {
		n, err := unix.ReadDirent(fd, buf)
		if err != nil || n <= 0 {
			return
		}
		_, _, names := unix.ParseDirent(buf[:n], -1, nil)
		for _, name := range names {
			rest, ok := strings.CutPrefix(name, prefix)
			if !ok {
				continue
			}
			pid, _, _ := strings.Cut(rest, "-")
			if p, err := strconv.Atoi(pid); err == nil && p > 0 && unix.Kill(p, 0) == unix.ESRCH {
				unix.Unlinkat(fd, name, 0)
			}
		}
	}
}

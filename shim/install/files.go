package install

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The file edge of install: every edit of a file happens under a lock on
// its directory, so concurrent installs take turns; a file is replaced by
// a rename only if it still holds what the edit was computed from; temp
// files carry a name of our own so that one left by a killed install is
// removed by the next; a symlinked file is written where it points.

// errChanged is a file that changed between its read and its replacement.
var errChanged = errors.New("changed by someone else while armhf-shim was editing it: run again")

// lockDir takes an exclusive flock on the nearest existing directory at or
// above dir (a lock on the directory itself leaves no lock file behind);
// it returns the unlock. It retries when that directory is created or
// removed while it waits.
func lockDir(dir string) (func(), error) {
	for try := 0; try < 100; try++ {
		d := nearestDir(dir)
		fd, err := unix.Open(d, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue // removed meanwhile: look again
		}
		for {
			if err = unix.Flock(fd, unix.LOCK_EX); err != unix.EINTR {
				break
			}
		}
		if err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("locking %s: %w", d, err)
		}
		var held, now unix.Stat_t
		if unix.Fstat(fd, &held) == nil && unix.Stat(d, &now) == nil &&
			held.Dev == now.Dev && held.Ino == now.Ino && nearestDir(dir) == d {
			return func() { unix.Close(fd) }, nil
		}
		unix.Close(fd)
	}
	return nil, fmt.Errorf("locking %s: the directory keeps changing", dir)
}

func nearestDir(dir string) string {
	d := filepath.Clean(dir)
	for {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
		if d == filepath.Dir(d) {
			return d
		}
		d = filepath.Dir(d)
	}
}

// inRoot is host path p as seen from here, below root ("" or "/": the
// host's own root).
func inRoot(root, p string) string {
	if root == "" || root == "/" || p == "" {
		return p
	}
	return filepath.Join(root, p)
}

// onHost is path p (below root) as the host sees it: what goes into the
// files install writes and the records it keeps, so that the host's own
// engines read them and an uninstall without --root finds them.
func onHost(root, p string) string {
	if root == "" || root == "/" {
		return p
	}
	r, err := filepath.Rel(root, p)
	if err != nil || r == ".." || strings.HasPrefix(r, "../") {
		return p
	}
	return filepath.Join("/", r)
}

// resolve follows path's symlinks to the file they name, also when it
// does not exist yet (a dangling daemon.json link is written where it
// points, and stays a link). An absolute link target is a host path, so
// it is followed below root.
func resolve(root, path string) (string, error) {
	for i := 0; i < 40; i++ {
		t, err := os.Readlink(path)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) && (pe.Err == syscall.EINVAL || pe.Err == syscall.ENOENT) {
				return path, nil // not a symlink, or absent
			}
			return "", err
		}
		if !filepath.IsAbs(t) {
			t = filepath.Join(filepath.Dir(path), t)
		} else {
			t = inRoot(root, t)
		}
		path = t
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", path)
}

// tempPrefix is how our temp files beside path are named.
func tempPrefix(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".armhf-shim-")
}

// removeStaleTemps removes temp files of ours beside path. Called under
// the lock, when no other armhf-shim is writing there: any is a leftover
// of an install that was killed.
func removeStaleTemps(path string) {
	m, _ := filepath.Glob(globEscape(tempPrefix(path)) + "*.tmp")
	for _, f := range m {
		os.Remove(f)
	}
}

func globEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)
	return r.Replace(s)
}

// writeTemp writes data to a new temp file beside path, synced.
func writeTemp(path string, data []byte, perm fs.FileMode) (string, error) {
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := tempPrefix(path) + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(rnd[:]) + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// holds reports whether path holds content (nil: is absent).
func holds(path string, content []byte) bool {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return content == nil
	}
	return err == nil && content != nil && bytes.Equal(b, content)
}

// replaceFile replaces path (resolved) with data, atomically, if it still
// holds old (nil: absent).
func replaceFile(path string, old, data []byte, perm fs.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	if !holds(path, old) {
		os.Remove(tmp)
		return fmt.Errorf("%s %w", path, errChanged)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// removeFile removes path if it still holds old.
func removeFile(path string, old []byte) error {
	if !holds(path, old) {
		return fmt.Errorf("%s %w", path, errChanged)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// backup saves data as <path>.armhf-shim-<stamp>.bak, never over an
// existing file (a second backup in the same second gets -2, -3, ...). A
// backup with the same content already there is reused (made is false):
// repeated installs and uninstalls do not pile up copies.
func backup(path string, data []byte, stamp string) (name string, made bool, err error) {
	base := path + ".armhf-shim-"
	old, _ := filepath.Glob(globEscape(base) + "*.bak")
	for _, b := range old {
		if c, err := os.ReadFile(b); err == nil && bytes.Equal(c, data) {
			return b, false, nil
		}
	}
	tmp, err := writeTemp(path, data, 0o600)
	if err != nil {
		return "", false, err
	}
	defer os.Remove(tmp)
	for n := 1; n < 1000; n++ {
		name = base + stamp + ".bak"
		if n > 1 {
			name = base + stamp + "-" + strconv.Itoa(n) + ".bak"
		}
		// link(2) fails rather than replace: the O_EXCL of a rename.
		err = os.Link(tmp, name)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return "", false, err
	}
	return name, true, nil
}

//go:build linux && cgo

package lxc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// LockFile is the per-container lock in the container directory: create
// (for its whole run, unpacking included), start, stop and destroy hold an
// exclusive flock on it, and write "PID COMMAND" into it while they do.
const LockFile = "armhf-lxc.lock"

// LockWait is how long start, stop and destroy wait for another armhf-lxc
// command working on the same container (a start, stop or destroy) before
// giving up. A create in progress is never waited for: it may debootstrap
// for minutes, and the container does not exist until it is done.
var LockWait = 2 * time.Minute

// BusyError is returned when another armhf-lxc command holds the lock of
// a container.
type BusyError struct {
	Name string
	Op   string // the holder's command: create, start, stop, destroy ("" = unknown)
	PID  int    // the holder's pid (0 = unknown)
}

func (e *BusyError) Error() string {
	pid := "pid unknown"
	if e.PID > 0 {
		pid = "pid " + strconv.Itoa(e.PID)
	}
	if e.Op == "create" {
		return fmt.Sprintf("create of %s still in progress (%s): wait for it to finish (or interrupt it: it removes what it made)", e.Name, pid)
	}
	cmd := "armhf-lxc command"
	if e.Op != "" {
		cmd = "armhf-lxc " + e.Op
	}
	return fmt.Sprintf("another %s is working on %s (%s); try again when it is done", cmd, e.Name, pid)
}

// holderString is "armhf-lxc OP (pid N)", as far as known.
func (e *BusyError) holderString() string {
	s := "another armhf-lxc command"
	if e.Op != "" {
		s = "armhf-lxc " + e.Op
	}
	if e.PID > 0 {
		s += " (pid " + strconv.Itoa(e.PID) + ")"
	}
	return s + " to finish"
}

// ctLock is a held container lock; unlock releases it (nil: nothing held).
type ctLock struct{ f *os.File }

func (l *ctLock) unlock() {
	if l == nil {
		return
	}
	// Emptied first: whoever finds the file unlocked reads no stale pid.
	l.f.Truncate(0)
	l.f.Close()
}

func (l *ctLock) claim(op string) {
	l.f.Truncate(0)
	l.f.WriteAt([]byte(strconv.Itoa(os.Getpid())+" "+op+"\n"), 0)
}

// holder reads "PID COMMAND" from a lock file another process holds. It
// may have just taken the lock and not yet written it: retry briefly.
func holder(f *os.File, name string) *BusyError {
	e := &BusyError{Name: name}
	for i := 0; i < 20; i++ {
		b := make([]byte, 128)
		n, _ := f.ReadAt(b, 0)
		if fields := strings.Fields(string(b[:n])); len(fields) == 2 {
			e.PID, _ = strconv.Atoi(fields[0])
			e.Op = fields[1]
			return e
		}
		time.Sleep(5 * time.Millisecond)
	}
	return e
}

// sameFile reports whether f is still the file at p: destroy removes the
// lock file (and the directory) while it holds the lock, and a lock taken
// on the removed file then locks nothing.
func sameFile(f *os.File, p string) bool {
	var a, b unix.Stat_t
	if unix.Fstat(int(f.Fd()), &a) != nil || unix.Stat(p, &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// lock takes the lock of container name for command op, waiting up to wait
// for another start, stop or destroy (never for a create) unless ctx ends
// first. A directory that is not armhf-lxc's (no lock file and no
// armhf-lxc.json: a container made with the lxc-* tools, or what a failed
// create left) gets no lock file written into it: lock returns a nil lock
// and the caller reports what it finds there.
func (m *Manager) lock(ctx context.Context, name, op string, wait time.Duration) (*ctLock, error) {
	dir := m.Dir(name)
	p := filepath.Join(dir, LockFile)
	deadline := time.Now().Add(wait)
	waiting := false
	for {
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if errors.Is(err, fs.ErrNotExist) {
			if _, serr := os.Stat(filepath.Join(dir, StateFile)); serr != nil {
				if _, derr := os.Stat(dir); errors.Is(derr, fs.ErrNotExist) {
					return nil, m.noContainer(name)
				}
				return nil, nil
			}
			// armhf-lxc's container from before the lock file existed.
			f, err = os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, m.noContainer(name) // destroyed meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("%s %s: locking %s: %w", op, name, p, err)
		}
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			if !sameFile(f, p) {
				f.Close()
				continue
			}
			l := &ctLock{f}
			l.claim(op)
			return l, nil
		}
		if err != unix.EWOULDBLOCK {
			f.Close()
			return nil, fmt.Errorf("%s %s: locking %s: %w", op, name, p, err)
		}
		busy := holder(f, name)
		f.Close()
		if busy.Op == "create" || !time.Now().Before(deadline) {
			return nil, fmt.Errorf("%s %s: %w", op, name, busy)
		}
		if !waiting {
			waiting = true
			m.logf("%s %s: waiting (up to %s) for %s", op, name, wait, busy.holderString())
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s %s: interrupted (%v) while waiting: %w", op, name, context.Cause(ctx), busy)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// lockNew makes and takes the lock of the directory create has just made
// (Create names the container in its errors).
func lockNew(dir, name string) (*ctLock, error) {
	p := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w (was the directory removed or locked by another armhf-lxc meanwhile?)", p, err)
	}
	// Retried briefly: busy (another command asking who works on the
	// directory) holds a shared lock for a moment.
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	for i := 0; err == unix.EWOULDBLOCK && i < 20; i++ {
		time.Sleep(5 * time.Millisecond)
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	}
	if err != nil {
		busy := holder(f, name)
		f.Close()
		return nil, busy
	}
	l := &ctLock{f}
	l.claim("create")
	return l, nil
}

// busy is who holds the lock of container name, nil if nobody does (or it
// has no lock file).
func (m *Manager) busy(name string) *BusyError {
	f, err := os.Open(filepath.Join(m.Dir(name), LockFile))
	if err != nil {
		return nil
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err == nil {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		return nil
	}
	return holder(f, name)
}

// createInProgress is the create holding the lock of name, if any.
func (m *Manager) createInProgress(name string) *BusyError {
	if b := m.busy(name); b != nil && b.Op == "create" {
		return b
	}
	return nil
}

func (m *Manager) noContainer(name string) error {
	return fmt.Errorf("no container %q in %s (armhf-lxc list shows the containers)", name, m.lxcpath())
}

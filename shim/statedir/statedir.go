// Package statedir manages armhf-shim's runtime state on the host: the
// armv7 cpuinfo files that are bind-mounted over a container's
// /proc/cpuinfo.
//
// The model: under a root on a tmpfs (default /run/armhf-shim, so a reboot
// clears it) each modified container has a directory containers/<id>
// holding "cpuinfo", the bind-mount source; it is removed when the runtime
// deletes the container (the mount inside a running container keeps its
// own reference to the file). Rendering a cpuinfo reads /proc/cpuinfo and
// the CPU affinity, so renderings are cached per cpuset as
// cache/cpuinfo-<cpuset> and a container's file is a hard link to the
// cached one: starting the hundredth container on the same cpuset costs a
// stat(2) and a link(2).
//
// A cached file written before this boot of the kernel is rendered again,
// which makes a cache on a persistent root harmless after a reboot (or a
// CPU swap in a VM). The boot's start is the real-time clock minus
// CLOCK_BOOTTIME — two clock reads, where the kernel's boot id would be a
// procfs read, the costlier in a process that has just started. A clock
// stepped forward during the boot only makes an older file look stale
// (one more rendering).
//
// Nothing under the root is resolved through a symlink: every step is an
// openat, mkdirat, linkat, renameat or unlinkat relative to the directory
// above it, without following a final symlink, so a link planted at
// containers/<id> (a leftover slot, replaced) or at containers or cache
// (refused) cannot make the wrapper write or remove a file elsewhere.
package statedir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/armhf-shim/armhf-shim/cpuinfo"
	"github.com/armhf-shim/armhf-shim/internal/fsutil"
	"github.com/armhf-shim/armhf-shim/shim/runcargs"
	"golang.org/x/sys/unix"
)

// CPUInfoName is the file name of a container's cpuinfo.
const CPUInfoName = "cpuinfo"

// Dir is a state root.
type Dir struct {
	Root string
	// Render makes the cpuinfo text for a cpuset (cpuinfo.HostARMv7 if nil).
	Render func(cpuinfo.CPUSet) ([]byte, error)
}

// ContainerDir is the directory of container id.
func (d Dir) ContainerDir(id string) (string, error) {
	if !runcargs.ValidID(id) {
		return "", fmt.Errorf("invalid container id %q", id)
	}
	return filepath.Join(d.Root, "containers", id), nil
}

// CPUInfoPath is where container id's cpuinfo lives.
func (d Dir) CPUInfoPath(id string) (string, error) {
	cd, err := d.ContainerDir(id)
	if err != nil {
		return "", err
	}
	return filepath.Join(cd, CPUInfoName), nil
}

// bootTime is when this boot of the kernel started, in the real-time
// clock's terms (zero if the clocks cannot be read: nothing is stale).
func bootTime() unix.Timespec {
	var boot unix.Timespec
	if unix.ClockGettime(unix.CLOCK_BOOTTIME, &boot) != nil {
		return unix.Timespec{}
	}
	// time.Now reads the real-time clock through the vDSO: no system call.
	return unix.NsecToTimespec(time.Now().UnixNano() - boot.Nano())
}

// fresh reports whether a file modified at mtime was written during this
// boot.
func fresh(mtime, boot unix.Timespec) bool {
	return mtime.Nano() >= boot.Nano()
}

// cacheKey names a cpuset in a file name: "0-3_6".
func cacheKey(set cpuinfo.CPUSet) string {
	return strings.ReplaceAll(set.String(), ",", "_")
}

// SharedCPUInfo returns the cached armv7 cpuinfo file for cpus (a cpuset
// string, "" for the caller's affinity), rendering it on first use. It is
// the mount source for containers that nobody deletes through the runtime
// (an attached `runc run`, as BuildKit uses, removes itself): shared,
// read-only, one per cpuset, so nothing is left behind per container.
func (d Dir) SharedCPUInfo(cpus string) (string, error) {
	var set cpuinfo.CPUSet
	var err error
	if strings.TrimSpace(cpus) != "" {
		if set, err = cpuinfo.ParseCPUSet(cpus); err != nil {
			return "", fmt.Errorf("container cpuset linux.resources.cpu.cpus=%q: %w", cpus, err)
		}
	}
	if set.IsEmpty() {
		if set, err = cpuinfo.Affinity(); err != nil {
			return "", err
		}
	}
	name := "cpuinfo-" + cacheKey(set)
	cache := filepath.Join(d.Root, "cache", name)
	dir, err := d.subdir("cache", true)
	if err != nil {
		return "", err
	}
	defer unix.Close(dir)
	var st unix.Stat_t
	if unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && fresh(st.Mtim, bootTime()) {
		return cache, nil
	}
	render := d.Render
	if render == nil {
		render = cpuinfo.HostARMv7
	}
	text, err := render(set)
	if err != nil {
		return "", fmt.Errorf("rendering the armv7 cpuinfo for cpuset %s: %w", set, err)
	}
	if err := writeAt(dir, name, text); err != nil {
		return "", fmt.Errorf("armhf-shim state root: writing %s: %w", cache, err)
	}
	return cache, nil
}

// subdir opens the directory name directly under the root (made when
// missing and create is set), refusing a symlink.
func (d Dir) subdir(name string, create bool) (int, error) {
	root, err := fsutil.Open(d.Root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err == unix.ENOENT && create {
		if err = os.MkdirAll(d.Root, 0o755); err == nil {
			root, err = fsutil.Open(d.Root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		}
	}
	if err != nil {
		return -1, stateRootError("open "+d.Root, err)
	}
	defer unix.Close(root)
	fd, err := openDirAt(root, name, create)
	if err != nil {
		return -1, stateRootError(filepath.Join(d.Root, name), err)
	}
	return fd, nil
}

// openDirAt opens the directory name in dir without following a symlink,
// making it first when create is set.
func openDirAt(dir int, name string, create bool) (int, error) {
	if create {
		if err := unix.Mkdirat(dir, name, 0o755); err != nil && err != unix.EEXIST {
			return -1, err
		}
	}
	for {
		fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		var st unix.Stat_t
		if err == unix.ELOOP || err == unix.ENOTDIR && unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			err = errSymlink
		}
		return fd, err
	}
}

var errSymlink = errors.New("is a symbolic link, which armhf-shim does not follow under its state root")

func stateRootError(what string, err error) error {
	if err == errSymlink {
		return fmt.Errorf("armhf-shim state root: %s %w", what, err)
	}
	return fmt.Errorf("armhf-shim state root: %s: %w", what, err)
}

// writeAt replaces the file name in dir with text (mode 0444), through a
// temporary file in dir, never following a symlink.
func writeAt(dir int, name string, text []byte) error {
	tmp := "." + name + ".tmp-" + strconv.Itoa(os.Getpid())
	unix.Unlinkat(dir, tmp, 0)
	fd, err := unix.Openat(dir, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o444)
	if err != nil {
		return err
	}
	for b := text; len(b) > 0; {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			unix.Close(fd)
			unix.Unlinkat(dir, tmp, 0)
			return err
		}
		b = b[n:]
	}
	err = unix.Fchmod(fd, 0o444)
	unix.Close(fd)
	if err == nil {
		err = unix.Renameat(dir, tmp, dir, name)
	}
	if err != nil {
		unix.Unlinkat(dir, tmp, 0)
	}
	return err
}

// WriteCPUInfo puts the armv7 cpuinfo for cpus at container id's own path
// (a hard link to the shared file) and returns that path; [Dir.Remove]
// removes it when the container is deleted.
func (d Dir) WriteCPUInfo(id, cpus string) (string, error) {
	p, _, err := d.CreateCPUInfo(id, cpus)
	return p, err
}

// CreateCPUInfo is [Dir.WriteCPUInfo] that also reports whether it made
// container id's directory (rather than finding one there), so that a
// caller whose container then fails to be created removes only what it
// made, never the state of another container with the same id.
func (d Dir) CreateCPUInfo(id, cpus string) (path string, created bool, err error) {
	dst, err := d.CPUInfoPath(id)
	if err != nil {
		return "", false, err
	}
	cache, err := d.SharedCPUInfo(cpus)
	if err != nil {
		return "", false, err
	}
	cacheDir, err := d.subdir("cache", false)
	if err != nil {
		return "", false, err
	}
	defer unix.Close(cacheDir)
	containers, err := d.subdir("containers", true)
	if err != nil {
		return "", false, err
	}
	defer unix.Close(containers)
	// Usually a mkdir(2) and a link(2): a new container's directory; a
	// leftover of an earlier container with the same id (a symlink
	// included) is replaced.
	mkErr := unix.Mkdirat(containers, id, 0o755)
	if mkErr != nil && mkErr != unix.EEXIST {
		return "", false, stateRootError(filepath.Dir(dst), mkErr)
	}
	created = mkErr == nil
	cd, err := openDirAt(containers, id, false)
	if err == errSymlink || err == unix.ENOTDIR {
		if err := removeAt(containers, id); err != nil {
			return "", false, stateRootError("removing "+filepath.Dir(dst), err)
		}
		created = true
		cd, err = openDirAt(containers, id, true)
	}
	if err != nil {
		if created {
			unix.Unlinkat(containers, id, unix.AT_REMOVEDIR)
		}
		return "", false, stateRootError(filepath.Dir(dst), err)
	}
	path, err = linkCPUInfo(cd, cacheDir, cache, dst)
	unix.Close(cd)
	if err != nil && created {
		removeAt(containers, id)
	}
	return path, created && err == nil, err
}

// linkCPUInfo puts the cached cpuinfo file into the container directory cd.
func linkCPUInfo(cd, cacheDir int, cache, dst string) (string, error) {
	cacheName := filepath.Base(cache)
	err := unix.Linkat(cacheDir, cacheName, cd, CPUInfoName, 0)
	if err == unix.EEXIST {
		if err := unix.Unlinkat(cd, CPUInfoName, 0); err != nil && err != unix.ENOENT {
			return "", stateRootError("removing "+dst, err)
		}
		err = unix.Linkat(cacheDir, cacheName, cd, CPUInfoName, 0)
	}
	if err != nil {
		// Another file system under containers/: a copy.
		text, rerr := os.ReadFile(cache)
		if rerr != nil {
			return "", rerr
		}
		if err := writeAt(cd, CPUInfoName, text); err != nil {
			return "", stateRootError("writing "+dst, err)
		}
	}
	return dst, nil
}

// Remove deletes container id's state. For a container that has none (it
// was not modified) this is an unlink failing with ENOENT.
func (d Dir) Remove(id string) error {
	if _, err := d.ContainerDir(id); err != nil {
		return err
	}
	containers, err := d.subdir("containers", false)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(containers)
	if err := removeAt(containers, id); err != nil && err != unix.ENOENT {
		return stateRootError("removing "+filepath.Join(d.Root, "containers", id), err)
	}
	return nil
}

// removeAt removes name from dir and, when it is a directory, everything
// in it, relative to the directories themselves: a symlink is removed,
// never followed.
func removeAt(dir int, name string) error {
	err := unix.Unlinkat(dir, name, 0)
	if err != unix.EISDIR {
		return err
	}
	fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	buf := make([]byte, 4096)
	var names []string
	for {
		n, err := unix.ReadDirent(fd, buf)
		if err != nil {
			unix.Close(fd)
			return err
		}
		if n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	for _, n := range names {
		if err := removeAt(fd, n); err != nil && err != unix.ENOENT {
			unix.Close(fd)
			return err
		}
	}
	unix.Close(fd)
	return unix.Unlinkat(dir, name, unix.AT_REMOVEDIR)
}

// Containers lists the ids that have state (for doctor).
func (d Dir) Containers() ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(d.Root, "containers"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() {
			if _, err := os.Stat(filepath.Join(d.Root, "containers", e.Name(), CPUInfoName)); err == nil {
				ids = append(ids, e.Name())
			}
		}
	}
	return ids, nil
}

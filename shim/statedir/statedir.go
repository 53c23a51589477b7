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
package statedir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
	cache := filepath.Join(d.Root, "cache", "cpuinfo-"+cacheKey(set))
	var st unix.Stat_t
	if unix.Stat(cache, &st) == nil && fresh(st.Mtim, bootTime()) {
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
	if err := os.MkdirAll(filepath.Dir(cache), 0o755); err != nil {
		return "", fmt.Errorf("armhf-shim state root: %w", err)
	}
	if err := fsutil.ReplaceFile(cache, text, 0o444); err != nil {
		return "", err
	}
	return cache, nil
}

// WriteCPUInfo puts the armv7 cpuinfo for cpus at container id's own path
// (a hard link to the shared file) and returns that path; [Dir.Remove]
// removes it when the container is deleted.
func (d Dir) WriteCPUInfo(id, cpus string) (string, error) {
	dst, err := d.CPUInfoPath(id)
	if err != nil {
		return "", err
	}
	cache, err := d.SharedCPUInfo(cpus)
	if err != nil {
		return "", err
	}
	// Usually a mkdir(2) and a link(2): a new container's directory, in an
	// existing containers/ (made with its parents when missing); a
	// leftover of an earlier container with the same id is replaced.
	// Any other failure (EACCES, EROFS, ENOSPC, ENOTDIR) is the state
	// root's: reported as such, not as a later link or write failing.
	dir := filepath.Dir(dst)
	switch err := unix.Mkdir(dir, 0o755); err {
	case nil, unix.EEXIST:
	case unix.ENOENT:
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("armhf-shim state root: %w", err)
		}
	default:
		return "", fmt.Errorf("armhf-shim state root: mkdir %s: %w", dir, err)
	}
	err = unix.Link(cache, dst)
	if err == unix.EEXIST {
		if err := os.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		err = unix.Link(cache, dst)
	}
	if err != nil {
		text, rerr := os.ReadFile(cache)
		if rerr != nil {
			return "", rerr
		}
		if err := fsutil.ReplaceFile(dst, text, 0o444); err != nil {
			return "", err
		}
	}
	return dst, nil
}

// Remove deletes container id's state. For a container that has none (it
// was not modified) this is an unlink and an rmdir failing with ENOENT.
func (d Dir) Remove(id string) error {
	cd, err := d.ContainerDir(id)
	if err != nil {
		return err
	}
	return os.RemoveAll(cd)
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

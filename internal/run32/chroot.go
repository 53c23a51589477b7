package run32

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/armhf-shim/armhf-shim/internal/inroot"
)

// The device nodes a chroot's /dev gets, bound from the host's: the OCI
// runtime spec's default set, which sbuild's unshare mode and podman give
// a build too.
var chrootDevices = []string{"null", "zero", "full", "random", "urandom", "tty"}

// The links of /dev that point into /proc and devpts.
var chrootDevLinks = [][2]string{
	{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
	{"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"},
}

// enterChroot moves the calling (locked) thread into a new mount namespace,
// mounts in the root filesystem dir what a build chroot needs (as sbuild and
// pbuilder do, but in this namespace only, so nothing is left behind):
//
//   - /proc: a new procfs as root; in a user namespace the host's /proc
//     bound recursively (a new procfs there needs a PID namespace of its
//     own, which would make the command PID 1);
//   - /sys: the host's, bound recursively;
//   - /dev: a tmpfs with the host's null, zero, full, random, urandom and
//     tty bound in, the usual links, a new devpts instance and a tmpfs
//     /dev/shm;
//   - cpuinfo (if not nil) bound read-only over /proc/cpuinfo;
//
// then changes the thread's root to dir and its working directory to cwd
// (inside dir; "/" when empty). Everything in dir is reached through file
// descriptors opened inside it without following symlinks, so neither a
// link in the tree nor a rename while this runs can send a mount, a file
// or the root elsewhere.
func enterChroot(dir, cwd string, cpuinfo []byte, inUserns bool) error {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("unshare(CLONE_NEWNS): %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		if errors.Is(err, unix.EINVAL) {
			return errors.New("--chroot: / is not a mount point (already in a chroot?), so the mounts for the chroot " +
				"could not be kept from propagating; run armhf-shim from the host")
		}
		return fmt.Errorf("making / a slave mount: %w", err)
	}
	// Opened in the new namespace: a descriptor from before the unshare
	// would name the host's mounts, on which nothing may be mounted from
	// here.
	rootFD, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("--chroot %s: %w", dir, err)
	}
	defer unix.Close(rootFD)
	r, err := inroot.Open(fdPath(rootFD))
	if err != nil {
		return fmt.Errorf("--chroot %s: %w", dir, err)
	}
	defer r.Close()
	// open opens name in dir, following no symlink, and checks it is on a
	// file system of type fs (0: any).
	open := func(name string, flags int, fs int64) (int, error) {
		fd, err := r.OpenNoSymlinks(name, unix.O_PATH|flags)
		if err != nil {
			return -1, fmt.Errorf("--chroot %s: %s: %w (a root filesystem has /proc, /sys and /dev directories, not links)", dir, name, err)
		}
		var st unix.Statfs_t
		if err := unix.Fstatfs(fd, &st); err != nil || (fs != 0 && st.Type != fs) {
			unix.Close(fd)
			return -1, fmt.Errorf("--chroot %s: %s is not what was just mounted there (changed meanwhile?)", dir, name)
		}
		return fd, nil
	}
	mountAt := func(name, source, fstype string, flags uintptr, data string) error {
		fd, err := open(name, unix.O_DIRECTORY, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if err := unix.Mount(source, fdPath(fd), fstype, flags, data); err != nil {
			return fmt.Errorf("mounting %s on %s%s: %w", source, dir, name, err)
		}
		return nil
	}
	if inUserns {
		err = mountAt("/proc", "/proc", "", unix.MS_BIND|unix.MS_REC, "")
	} else {
		err = mountAt("/proc", "proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	}
	if err != nil {
		return err
	}
	if err := mountAt("/sys", "/sys", "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	if err := mountAt("/dev", "tmpfs", "tmpfs", unix.MS_NOSUID|unix.MS_STRICTATIME, "mode=755,size=65536k"); err != nil {
		return err
	}
	devFD, err := open("/dev", unix.O_DIRECTORY, unix.TMPFS_MAGIC)
	if err != nil {
		return err
	}
	defer unix.Close(devFD)
	dev := fdPath(devFD)
	if err := populateDev(dev, inUserns); err != nil {
		return err
	}
	if cpuinfo != nil {
		if err := chrootCPUInfo(cpuinfo, dev, open); err != nil {
			return err
		}
	}
	if err := unix.Fchdir(rootFD); err != nil {
		return fmt.Errorf("--chroot %s: %w", dir, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot %s: %w", dir, err)
	}
	if cwd == "" {
		cwd = "/"
	}
	if err := unix.Chdir(filepath.Join("/", cwd)); err != nil {
		return fmt.Errorf("--cwd %s (in the chroot %s): %w", cwd, dir, err)
	}
	return nil
}

// chrootCPUInfo binds cpuinfo read-only over the chroot's /proc/cpuinfo.
// The file is staged on the chroot's /dev (dev), a tmpfs of this
// namespace; once bound, its name goes and the bind mount holds the only
// reference. open opens a path in the chroot (see enterChroot).
func chrootCPUInfo(cpuinfo []byte, dev string, open func(string, int, int64) (int, error)) error {
	target, err := open("/proc/cpuinfo", 0, unix.PROC_SUPER_MAGIC)
	if err != nil {
		return err
	}
	src := filepath.Join(dev, ".armhf-shim-cpuinfo")
	err = bindData(cpuinfo, src, fdPath(target))
	unix.Close(target)
	if rerr := os.Remove(src); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return err
	}
	// The descriptor above is of the file under the bind mount; the
	// remount needs the mount itself.
	if target, err = open("/proc/cpuinfo", 0, unix.TMPFS_MAGIC); err != nil {
		return err
	}
	defer unix.Close(target)
	return remountReadOnly(fdPath(target))
}

// fdPath names the file open as fd, for the calls that take a path.
func fdPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// populateDev fills dev, a fresh tmpfs of ours: device nodes bound from
// the host's /dev (bind mounts work in a user namespace too, where mknod
// does not), links, devpts and shm.
func populateDev(dev string, inUserns bool) error {
	for _, name := range chrootDevices {
		p := filepath.Join(dev, name)
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o666)
		if err != nil {
			return fmt.Errorf("making the mount point for /dev/%s: %w", name, err)
		}
		f.Close()
		if err := unix.Mount("/dev/"+name, p, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("binding /dev/%s into the chroot: %w", name, err)
		}
	}
	for _, l := range chrootDevLinks {
		if err := os.Symlink(l[1], filepath.Join(dev, l[0])); err != nil {
			return err
		}
	}
	// gid 5 is tty on Debian and in the OCI default; a user namespace maps
	// only the caller's own gid.
	ptsOpts := "newinstance,ptmxmode=0666,mode=0620"
	if !inUserns {
		ptsOpts += ",gid=5"
	}
	for _, m := range []struct {
		name, fstype string
		mode         os.FileMode
		flags        uintptr
		data         string
	}{
		{"pts", "devpts", 0o755, unix.MS_NOSUID | unix.MS_NOEXEC, ptsOpts},
		{"shm", "tmpfs", 0o1777, unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "mode=1777,size=65536k"},
	} {
		p := filepath.Join(dev, m.name)
		if err := os.Mkdir(p, m.mode); err != nil {
			return err
		}
		if err := unix.Mount(m.name, p, m.fstype, m.flags, m.data); err != nil {
			return fmt.Errorf("mounting %s on /dev/%s of the chroot: %w", m.fstype, m.name, err)
		}
	}
	return nil
}

// Package lxc manages 32-bit LXC build hosts on a 64-bit kernel through
// go-lxc (liblxc): an armhf userland on an arm64 server (an i386 userland on
// x86_64, the analog this project is tested with) that looks like an armv7
// machine from the inside, optionally with dockerd running in it.
//
// The model. A container is a directory <lxcpath>/<name> holding
//
//   - config: the LXC configuration, written item by item with
//     SetConfigItem and SaveConfigFile (go-lxc's Create insists on a
//     template, which a build host given a root filesystem has no use for);
//   - armhf-lxc.json: what armhf-lxc itself needs to remember ([State]):
//     where the root filesystem is, whether armhf-lxc unpacked it (and so
//     may delete it) or the user supplied it (and so it is never deleted),
//     and the create options that take effect at start;
//   - cpuinfo: the armv7 /proc/cpuinfo of the container's CPUs, bind-mounted
//     read-only over the container's proc/cpuinfo and regenerated atomically
//     on every start (so it follows the host's CPUs);
//   - init: the container's PID 1, a POSIX shell script bind-mounted at
//     /dev/.armhf-lxc-init (on the autodev tmpfs, so the user's root
//     filesystem is not written). It reaps orphans, and on SIGTERM
//     sends SIGTERM to dockerd alone first and waits for it (dockerd stops
//     its containers through its containerd, which must still be there),
//     then to every process, and exits when they are gone;
//   - rootfs/: only when armhf-lxc unpacked a tarball or ran debootstrap.
//
// lxc.arch (armv7l on arm64, i686 on x86_64) makes liblxc start init in the
// LINUX32 personality, which every process of the container inherits and
// lxc-attach reapplies, so uname -m says armv8l (arm64) or i686 (x86_64),
// config.guess and GOARCH-from-uname tools pick 32-bit, and runc or dockerd
// running inside inherit it too. The fake cpuinfo fixes "CPU architecture:
// 8"; together containerd's platform detection sees linux/arm/v7.
//
// Pure functions ([PlanCreate], [Config], [ValidateName], [ParseNetwork],
// [ParseBind], [LXCArch], [CgroupKeys], [InitScript]) turn options and host
// facts into configuration; the [Manager] (cgo, liblxc) does the side
// effects, one file per command (create.go, start.go, stop.go, exec.go,
// status.go, destroy.go), with manager.go and lock.go (one command per
// container at a time) under them. The
// package compiles without cgo (only the pure part), so CGO_ENABLED=0 builds
// of the whole module, such as the static armhf-shim binary and cross
// builds, keep working; armhf-lxc itself needs cgo and Debian's lxc-dev.
//
// Nesting (dockerd inside) needs a container that is not much of a security
// boundary: cgroups, /proc and /sys mounted read-write, no capability
// dropped, AppArmor unconfined. Root in such a container can take over the
// host. It is for build hosts where the code being built is trusted.
package lxc

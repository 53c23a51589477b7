// Command armhf-lxc manages 32-bit LXC build hosts on an arm64 server (an
// i386 one on x86_64): containers whose whole userland is armhf, that say
// armv8l/armv7 in uname -m and /proc/cpuinfo, optionally with dockerd
// running inside, so "docker build" there produces linux/arm/v7 images.
//
//	armhf-lxc create NAME --rootfs DIR|TARBALL [--nesting] [--docker] [--cpus LIST] [--network none|veth:BRIDGE]
//	armhf-lxc create NAME --debootstrap SUITE [...]
//	armhf-lxc start NAME | stop NAME [--timeout 10s] | destroy NAME [--force]
//	armhf-lxc exec NAME -- CMD [ARG...]   (CMD's exit status is armhf-lxc's)
//	armhf-lxc shell NAME | list | status NAME
//
// Why a separate binary: armhf-lxc drives liblxc through go-lxc, which is
// cgo and links Debian's liblxc dynamically. armhf-shim must stay a static
// CGO_ENABLED=0 binary, because it is bind-mounted into containers and
// exec'd as an OCI runtime and hook on hosts and in root filesystems that
// have no liblxc (or no glibc of the right version); a build tag would make
// one binary or the other depend on how it was built. Two binaries keep
// each one's dependencies honest: only hosts that run LXC build hosts need
// armhf-lxc and liblxc. Built without cgo, armhf-lxc only explains that it
// needs cgo (see main_nocgo.go), so CGO_ENABLED=0 builds of the whole
// module still succeed.
package main

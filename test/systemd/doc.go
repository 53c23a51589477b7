// Package systemd is armhf-shim's systemd test bed: a Debian 12 amd64 guest that boots its own
// systemd (and Debian's kernel) under qemu-system-x86_64, where an operator's steps run for real:
// dpkg -i of the package make package builds, armhf-shim setup --restart against Debian's
// docker.service and containerd.service, the packaged units (armhf-buildkitd.socket, the
// cpuinfo-at-boot unit, the seccomp agent's socket) enabled, a reboot, setup --undo and dpkg -P.
//
// The model: scripts/systemd/disk.sh caches the guest's disk (debootstrap, mke2fs -d) with its
// kernel and initrd; the test packs the bed's runner and cases (bed/) with their inputs into a
// second, read-only disk and boots once (scripts/systemd/boot.sh). The runner reports each case
// on the second serial port in the arm64 bed's protocol ([vm.ParseSerial]); the checks are
// keyed by case name (checks_test.go). See README.md.
package systemd

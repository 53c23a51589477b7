#!/bin/sh
# /init of the arm64 VM test bed (copied into the per-run initramfs by
# test/vm). Runs as PID 1 under arm64 busybox: mounts the kernel file
# systems, runs every /cases/*.sh (names starting with "_" are helpers, not
# cases) in name order, each under `timeout`, and reports on the serial
# console in a line protocol the host parses (test/vm/serial.go):
#
#   @@VM-START model=M kernel=R machine=aarch64 nproc=N uptime=S
#   @@RUN NAME timeout=T
#   @@STDOUT NAME
#   ...the case's stdout...
#   @@STDERR NAME
#   ...the case's stderr...
#   @@END NAME rc=N secs=S
#   @@VM-DONE uptime=S
#
# then powers off. Kernel command-line words KEY=VALUE (no dots) reach this
# script as environment variables: VM_CPU_MODEL, ARMHF_SHIM_EXPECT_NATIVE,
# VM_SHELL=1 (a shell on the console after the cases).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TMPDIR=/tmp
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/null >/dev/console 2>&1
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
hostname armhf-shim-vm

. /runcase.sh

echo "@@VM-START model=${VM_CPU_MODEL:-?} kernel=$(uname -r) machine=$(uname -m) nproc=$(nproc) uptime=$(up)"
for c in /cases/[!_]*.sh; do
  [ -f "$c" ] || continue
  run_case "$c" /
done
echo "@@VM-DONE uptime=$(up)"
if [ "${VM_SHELL:-0}" = 1 ]; then
  # Debugging (scripts/vm/boot.sh CPU KERNEL INITRD VM_SHELL=1): a shell on
  # the console; the VM powers off when it exits.
  setsid cttyhack sh -l </dev/console >/dev/console 2>&1
fi
sync
poweroff -f
# If poweroff failed, PID 1 exiting panics the kernel; panic=-1 and QEMU's
# -no-reboot turn that into QEMU exiting too.
exit 1

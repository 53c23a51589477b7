#!/usr/bin/env bash
# Boots the arm64 VM test bed once: Debian's arm64 kernel under
# qemu-system-aarch64 (TCG software emulation), serial console on stdout.
# Usage: scripts/vm/boot.sh CPU KERNEL INITRD [KEY=VALUE...]
#   CPU     a QEMU -cpu model (cortex-a72, neoverse-n1, a64fx, ...)
#   KEY=VALUE words are appended to the kernel command line; the VM's /init
#   sees them as environment variables (VM_SHELL=1: a shell on the console
#   after the cases; in a terminal, Ctrl-A X quits QEMU).
# Environment: ARMHF_SHIM_VM_TIMEOUT (seconds, default 120) bounds the whole
# run; ARMHF_SHIM_VM_SMP (2) and ARMHF_SHIM_VM_MEM (MiB, 1024);
# ARMHF_SHIM_VM_DISK, a raw disk image (scripts/vm/disk.sh) attached as
# virtio-blk (/dev/vda) with snapshot=on: the VM's writes are thrown away.
# GICv3 is required: with the default GICv2, -cpu a64fx oopses at boot and
# QEMU then hangs silently, hence also the timeout.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 CPU KERNEL INITRD [KEY=VALUE...]" >&2; exit 2; }
cpu=$1 kernel=$2 initrd=$3
shift 3
# In a terminal, QEMU must stay in the foreground process group to read it.
fg=()
[ -t 0 ] && fg=(--foreground)
disk=()
[ -n "${ARMHF_SHIM_VM_DISK:-}" ] &&
  disk=(-drive "file=$ARMHF_SHIM_VM_DISK,if=none,id=d0,format=raw,snapshot=on" -device virtio-blk-device,drive=d0)
exec timeout "${fg[@]}" -k 5 "${ARMHF_SHIM_VM_TIMEOUT:-120}" qemu-system-aarch64 \
  -M virt,gic-version=3 -cpu "$cpu" \
  -smp "${ARMHF_SHIM_VM_SMP:-2}" -m "${ARMHF_SHIM_VM_MEM:-1024}" \
  -nographic -no-reboot -nic none \
  -kernel "$kernel" -initrd "$initrd" "${disk[@]}" \
  -append "console=ttyAMA0 panic=-1 quiet VM_CPU_MODEL=$cpu $*"

#!/usr/bin/env bash
# Boots the systemd test bed's guest (test/systemd): Debian's kernel and initrd (scripts/systemd/disk.sh)
# with DISK as its root file system (snapshot=on: the guest's writes, kept across its reboots, go to a
# throw-away overlay, so the cached image never changes) and PAYLOAD, the bed's cases and inputs, as a
# read-only second disk. The first serial port (the console: kernel and systemd) goes to
# OUT/console.log, the second (the runner's protocol, test/systemd/bed/run.sh) to OUT/bed.log. KVM
# when /dev/kvm works with hardware virtualization, else TCG (software
# emulation: several times slower, test/systemd/README.md has figures). Always under `timeout`.
#
# Usage: scripts/systemd/boot.sh DISK KERNEL INITRD PAYLOAD OUT [KERNEL_ARG...]
# Knobs: ARMHF_SHIM_SYSTEMD_TIMEOUT (seconds, default 900), ARMHF_SHIM_SYSTEMD_ACCEL=kvm|tcg.
# Prints ACCEL=kvm|tcg on stdout before booting; exits with QEMU's status (124 on the timeout).
set -euo pipefail
[ $# -ge 5 ] || { echo "usage: $0 DISK KERNEL INITRD PAYLOAD OUT [KERNEL_ARG...]" >&2; exit 2; }
disk=$1 kernel=$2 initrd=$3 payload=$4 out=$5; shift 5
command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 not found: run scripts/install-deps.sh" >&2; exit 3; }

accel=${ARMHF_SHIM_SYSTEMD_ACCEL:-}
if [ -z "$accel" ]; then
  # KVM boots Debian's kernel only with hardware virtualization (vmx/svm): a /dev/kvm without it
  # (kvm-pvm, a paravirtual KVM in some clouds' VMs) runs only guests built for it, and a stock kernel
  # hangs right after its decompressor. QEMU reads the monitor's quit and exits 0 only if it could set
  # KVM up.
  if [ -w /dev/kvm ] && grep -qw -e vmx -e svm /proc/cpuinfo && echo quit | qemu-system-x86_64 -accel kvm -M q35 -display none -nodefaults -S -monitor stdio >/dev/null 2>&1; then
    accel=kvm
  else
    accel=tcg
  fi
fi
case $accel in kvm) cpu=host ;; *) cpu=max ;; esac
echo "ACCEL=$accel"
mkdir -p "$out"
: >"$out/console.log"; : >"$out/bed.log"
exec timeout -s KILL "${ARMHF_SHIM_SYSTEMD_TIMEOUT:-900}" qemu-system-x86_64 \
  -accel "$accel" -M q35 -cpu "$cpu" -smp 2 -m 3072 \
  -display none -nodefaults -no-user-config -monitor none \
  -kernel "$kernel" -initrd "$initrd" \
  -append "root=/dev/vda rw console=ttyS0 panic=-1 $*" \
  -drive "file=$disk,if=virtio,format=raw,snapshot=on" \
  -drive "file=$payload,if=virtio,format=raw,readonly=on" \
  -serial "file:$out/console.log" -serial "file:$out/bed.log" \
  -nic none

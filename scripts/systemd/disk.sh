#!/usr/bin/env bash
# Builds the disk of the systemd test bed (test/systemd): a Debian 12 amd64 system that boots its own
# systemd, made with `debootstrap --variant=minbase --include=` the packages of test/systemd/debs.txt
# (systemd-sysv, Debian's kernel and initramfs, docker.io, containerd, ...), then `apt-get install` in it
# of the list's foreign ones (libc6:i386, ...: the 32-bit dockerd's libraries), and packed into an ext4
# image by `mke2fs -d`. The kernel and the initrd that Debian's initramfs-tools made in it are copied
# beside the image, for qemu -kernel/-initrd. The image carries armhf-bed.service, which runs the bed's
# cases from the second disk at every boot (test/systemd/bed/run.sh says how).
#
# Usage: scripts/systemd/disk.sh CACHE_DIR
# KEY hashes this script and the list, so a change builds a new image; older ones are removed. Prints
# DISK=... KERNEL=... INITRD=... on stdout, progress on stderr.
# Exit status: 0 ok, 3 a prerequisite is missing, 1 anything else.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
[ $# = 1 ] || { echo "usage: $0 CACHE_DIR" >&2; exit 2; }
cache=$1
list=$repo/test/systemd/debs.txt

log() { echo "systemd-disk: $*" >&2; }
missing() { log "$*"; exit 3; }
for tool in debootstrap mke2fs flock sha256sum; do
  command -v "$tool" >/dev/null || missing "$tool not found: run scripts/install-deps.sh"
done
[ "$(id -u)" = 0 ] || missing "debootstrap needs root"

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
key=$(cat "$0" "$list" | sha256sum | cut -c1-16)
img=$cache/disk-$key.img kernel=$cache/vmlinuz-$key initrd=$cache/initrd-$key
done_() { echo "DISK=$img"; echo "KERNEL=$kernel"; echo "INITRD=$initrd"; exit 0; }
[ -s "$img" ] && [ -s "$kernel" ] && [ -s "$initrd" ] && done_

exec 8>"$cache/.disk.lock"
flock -w 1200 8 || { log "timed out waiting for $cache/.disk.lock"; exit 1; }
[ -s "$img" ] && [ -s "$kernel" ] && [ -s "$initrd" ] && done_

# The mirror apt is configured with (deb822 or one-line sources), else Debian's default.
mirror=$(sed -n 's/^URIs: *\([^ ]*debian\)\/\?$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb \(\[[^]]*\] \)\?\(http[^ ]*debian\)\/\? bookworm .*/\2/p' /etc/apt/sources.list 2>/dev/null | head -n1)
mirror=${mirror:-http://deb.debian.org/debian}
# Names with an architecture (libc6:i386) are not debootstrap's (it knows one architecture): apt
# installs them in the new system afterwards, from the same mirror, so their versions match.
names=$(sed 's/#.*//' "$list" | tr -s ' \t\n' '\n' | sed '/^$/d')
pkgs=$(echo "$names" | grep -v : | paste -sd, -)
foreign=$(echo "$names" | grep : || true)

work=$(mktemp -d "$cache/.build.XXXXXX")
trap 'umount -R "$work/root/proc" "$work/root/sys" 2>/dev/null || true; rm -rf "$work"' EXIT
root=$work/root
log "debootstrap bookworm from $mirror with $pkgs (a few minutes)"
debootstrap --variant=minbase --include="$pkgs" bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2; log "debootstrap failed"; exit 1; }

if [ -n "$foreign" ]; then
  log "apt-get install" $foreign
  for a in $(echo "$foreign" | sed 's/.*://' | sort -u); do chroot "$root" dpkg --add-architecture "$a"; done
  { chroot "$root" apt-get update -q &&
    chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $foreign; } >>"$work/debootstrap.log" 2>&1 || {
    tail -n 30 "$work/debootstrap.log" >&2; log "apt-get install of $(echo $foreign) failed"; exit 1; }
fi

# A fixed machine-id: an empty one makes every boot a first boot (systemd then applies presets).
echo 5f1b0c6a8d2e4f7a9b3c1d0e2f4a6b8c >"$root/etc/machine-id"
echo armhf-shim-sd >"$root/etc/hostname"
printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' >"$root/etc/fstab"
passwd -R "$root" -d root >/dev/null   # a console login for debugging (scripts/systemd/boot.sh)
# Timers that would take dpkg's lock or disks' time in the middle of a case.
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
  ln -sf /dev/null "$root/etc/systemd/system/$u"
done
# The bed's runner: mounts the second disk (the payload test/systemd builds) and runs its run.sh,
# whose output goes to the second serial port. After multi-user.target: the cases meet the
# system as an operator who logs in does. Type=simple: a oneshot would hold the boot in
# "starting" until the cases end (systemctl is-system-running --wait would never return).
cat >"$root/etc/systemd/system/armhf-bed.service" <<'UNIT'
[Unit]
Description=armhf-shim systemd test bed (cases from /dev/vdb)
After=multi-user.target

[Service]
Type=simple
ExecStartPre=/bin/mkdir -p /bed
ExecStartPre=/bin/mount -o ro /dev/vdb /bed
ExecStart=/bin/sh /bed/run.sh
StandardOutput=file:/dev/ttyS1
StandardError=inherit

[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/armhf-bed.service "$root/etc/systemd/system/multi-user.target.wants/armhf-bed.service"
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*

v=$(ls "$root/boot" | sed -n 's/^vmlinuz-//p' | sort -V | tail -n1)
[ -n "$v" ] && [ -s "$root/boot/initrd.img-$v" ] || { log "no kernel or initrd in /boot: $(ls "$root/boot")"; exit 1; }
cp "$root/boot/vmlinuz-$v" "$work/vmlinuz"
cp "$root/boot/initrd.img-$v" "$work/initrd"
# Room for the images, buildkit's state and a reboot's journal; sparse, so it costs what it holds.
used=$(du -sk "$root" | cut -f1)
size=$((used + 3 * 1024 * 1024))
log "mke2fs -d: $((used / 1024)) MiB used, $((size / 1024)) MiB image"
mke2fs -q -t ext4 -E root_owner=0:0 -L sdroot -d "$root" "$work/disk.img" "${size}k" >&2
rm -f "$cache"/disk-*.img "$cache"/vmlinuz-* "$cache"/initrd-*
mv "$work/vmlinuz" "$kernel"; mv "$work/initrd" "$initrd"; mv "$work/disk.img" "$img"
done_

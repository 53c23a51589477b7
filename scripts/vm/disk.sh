#!/usr/bin/env bash
# Builds the arm64 VM's second disk and the kernel modules that mount it:
#   - disk-KEY.img, an ext4 image made by `mke2fs -d` from the packages of
#     test/vm/disk-debs.txt unpacked into / (dpkg-deb -x, no maintainer
#     scripts), plus /images/*.tar: docker-archive images of Debian's static
#     busybox, armhf labelled linux/arm/v7 (with config.guess at
#     /usr/share/misc) and arm64 labelled linux/arm64;
#   - modules-KEY.cpio.gz, an initramfs piece holding the kernel modules
#     virtio-mmio, virtio-blk, ext4, overlay and binfmt_misc need (Debian builds them as
#     modules) and /etc/vm-modules, their load order.
# The VM attaches the image as virtio-blk with snapshot=on (its writes go to
# a throw-away overlay, so the cached image never changes and two VMs share
# it) and the case scripts chroot into it (cases/_disk.sh).
#
# Usage: scripts/vm/disk.sh CACHE_DIR KERNEL_PACKAGE
# KEY hashes this script, the list and every deb's file name (so a new
# package version or list entry builds a new image); older images are
# removed. Prints DISK=... and MODULES=... on stdout; progress on stderr.
# Exit status: 0 ok, 3 a prerequisite is missing, 1 anything else.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
[ $# = 2 ] || { echo "usage: $0 CACHE_DIR KERNEL_PACKAGE" >&2; exit 2; }
cache=$1 kernel_pkg=$2
list=${ARMHF_SHIM_VM_DISK_DEBS:-$repo/test/vm/disk-debs.txt}

log() { echo "vm-disk: $*" >&2; }
missing() { log "$*"; exit 3; }
for tool in dpkg-deb mke2fs readelf flock sha256sum tar gzip cpio; do
  command -v "$tool" >/dev/null || missing "$tool not found: run scripts/install-deps.sh"
done

debs=$cache/disk-debs
mkdir -p "$debs"
exec 8>"$cache/.disk.lock"
flock -w 900 8 || { log "timed out waiting for $cache/.disk.lock"; exit 1; }

# PKG:ARCH@DIR unpacks into DIR instead of / (a second userland that
# would collide with the first, e.g. the armhf docker.io for dind).
pkgs=() dests=()
declare -A counted
while read -r line; do
  line=${line%%#*}
  for p in $line; do
    pkgs+=("${p%%@*}")
    case $p in *@/*) dests+=("${p#*@}") ;; *@*) missing "$list: $p: the directory after @ must be absolute" ;; *) dests+=("") ;; esac
  done
done <"$list"
pkgs+=(busybox-static:arm64 busybox-static:armhf)
dests+=("" "")

# One apt-cache call resolves every package: "NAME:ARCH VERSION" lines.
table=$(apt-cache show --no-all-versions "${pkgs[@]}" 2>/dev/null |
  awk '/^Package: /{p=$2} /^Architecture: /{a=$2} /^Version: /{v=$2}
       /^$/{ if (p!="") print p ":" a " " v; p=a=v="" } END{ if (p!="") print p ":" a " " v }' || true)

files=()
for spec in "${pkgs[@]}"; do
  name=${spec%%:*} arch=${spec##*:}
  ver=$(awk -v k="$spec" '$1==k { print $2; exit }' <<<"$table")
  if [ -z "$ver" ]; then
    f=$(ls -1 "$debs/${name}_"*"_${arch}.deb" 2>/dev/null | tail -n1 || true)
    [ -n "$f" ] || missing "apt-cache knows no $spec: run scripts/install-deps.sh"
    files+=("$f"); continue
  fi
  f="$debs/${name}_${ver//:/%3a}_${arch}.deb"
  if [ ! -s "$f" ]; then
    tmp=$(mktemp -d "$debs/dl.XXXXXX")
    log "downloading $spec=$ver"
    # Every helper's apt-get shares one lock (apt's own lock is not taken
    # by `apt-get download`, but the partial directory is shared).
    if ! (cd "$tmp" && flock /tmp/armhf-apt.lock apt-get download -q "$spec=$ver" >&2); then
      rm -rf "$tmp"; log "apt-get download $spec=$ver failed (stale apt lists? run apt-get update)"; exit 1
    fi
    mv "$tmp"/*.deb "$f"; rm -rf "$tmp"
  fi
  files+=("$f")
done
kdeb=$(ls -1 "$cache/debs/${kernel_pkg}_"*_arm64.deb 2>/dev/null | tail -n1 || true)
[ -n "$kdeb" ] || { log "no cached $kernel_pkg deb in $cache/debs (run scripts/vm/assets.sh first)"; exit 1; }

key=$( { sha256sum "$0" "$list" | cut -d' ' -f1; for f in "${files[@]}" "$kdeb"; do basename "$f"; done; } |
  sha256sum | cut -c1-16)
disk=$cache/disk-$key.img mods=$cache/modules-$key.cpio.gz
if [ -s "$disk" ] && [ -s "$mods" ]; then
  echo "DISK=$disk"; echo "MODULES=$mods"; exit 0
fi

start=$(date +%s)
work=$(mktemp -d "$cache/disk-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root bb64="" bb32=""
mkdir -p "$root"
extra=()
for i in "${!files[@]}"; do
  f=${files[$i]}
  case $(basename "$f") in
    busybox-static_*_arm64.deb) bb64=$f; continue ;;
    busybox-static_*_armhf.deb) bb32=$f; continue ;;
  esac
  d=${dests[$i]}
  [ -z "$d" ] || extra+=("$root$d/usr/bin" "$root$d/usr/sbin")
  mkdir -p "$root$d"
  dpkg-deb -x "$f" "$root$d"
  [ -z "$d" ] || rm -rf "$root$d"/usr/share/{doc,man,lintian,bash-completion,zsh,fish} "$root$d"/etc/init.d "$root$d"/lib/systemd
done
rm -rf "$root"/usr/share/{doc,man,lintian,bash-completion,zsh,fish} "$root"/etc/init.d "$root"/lib/systemd \
  "$root"/usr/lib/*-linux-gnu*/gconv

# Every ELF program's NEEDED libraries must be on the disk, of its own
# architecture (in /: the programs of an @DIR userland run on this root's
# loader and libraries, as on a multiarch host): dependencies are not
# resolved from the list, so name what is missing.
need_missing=$(
  find "$root"/usr/bin "$root"/usr/sbin "$root"/usr/libexec "$root"/lib "$root"/usr/lib "${extra[@]}" -type f 2>/dev/null |
  while read -r f; do
    [ "$(head -c4 "$f" 2>/dev/null)" = $'\x7fELF' ] || continue
    case $(readelf -h "$f" 2>/dev/null | awk '/Class:/ { print $2 }') in
      ELF32) ma=arm-linux-gnueabihf ;;
      *) ma=aarch64-linux-gnu ;;
    esac
    readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | while read -r lib; do
      [ -e "$root/lib/$ma/$lib" ] || [ -e "$root/usr/lib/$ma/$lib" ] || echo "${f#$root} needs $lib ($ma)"
    done
  done | sort -u || true)
if [ -n "$need_missing" ]; then
  log "test/vm/disk-debs.txt lacks the packages of these libraries:"
  echo "$need_missing" >&2
  exit 1
fi

# busybox images as docker-archives (docker load), labelled by platform:
# Docker 20.10's `docker import --platform` does not set the architecture.
applets="sh ash uname cat ls sleep true false echo env mkdir rm id head tail grep sed test [ ps
  wc nproc printf tee touch cp mv ln chmod sort tr cut date awk which expr readlink dd hostname
  stat kill pwd find xargs setarch linux32 mktemp rmdir basename dirname"
cmd='"sh"'
image() { # image DEB REF ARCH VARIANT OUT [EXTRA_FILE DEST]
  local deb=$1 ref=$2 arch=$3 variant=$4 out=$5 r=$work/img-$3 x=$work/x-$3 id cfg
  mkdir -p "$r"/{bin,proc,dev,sys,tmp,etc,root,run,usr/bin,usr/share/misc} "$x" "$work/arc-$3"
  chmod 1777 "$r/tmp"
  dpkg-deb -x "$deb" "$x"
  install -m 0755 "$x/bin/busybox" "$r/bin/busybox"
  for a in $applets; do ln -s busybox "$r/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
  if [ $# -gt 5 ]; then install -m 0755 "$6" "$r$7"; fi
  tar -C "$r" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$work/layer.tar" .
  id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
  mkdir -p "$work/arc-$3/$id"
  mv "$work/layer.tar" "$work/arc-$3/$id/layer.tar"
  cfg='{"architecture":"'$arch'",'${variant:+'"variant":"'$variant'",'}'"os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":['$cmd']},"rootfs":{"type":"layers","diff_ids":["sha256:'$id'"]}}'
  printf '%s' "$cfg" >"$work/cfg.json"
  cid=$(sha256sum "$work/cfg.json" | cut -d' ' -f1)
  mv "$work/cfg.json" "$work/arc-$3/$cid.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$cid" "$ref" "$id" >"$work/arc-$3/manifest.json"
  tar -C "$work/arc-$3" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$out" .
}
mkdir -p "$root/images"
guess=$root/usr/share/misc/config.guess
[ -f "$guess" ] || { log "no /usr/share/misc/config.guess from autotools-dev"; exit 1; }
image "$bb32" busybox-armhf:latest arm v7 "$root/images/busybox-armhf.tar" "$guess" /usr/share/misc/config.guess
image "$bb64" busybox-arm64:latest arm64 v8 "$root/images/busybox-arm64.tar"
# The CRI sandbox ("pause") image, there being no registry: arm64 busybox
# sleeping, tagged in the VM as containerd's sandbox_image.
rm -rf "$work/img-arm64" "$work/arc-arm64"
cmd='"sleep","1000000000"' image "$bb64" pause:local arm64 v8 "$root/images/pause-arm64.tar"
# The chroot needs a shell of its own for `chroot DIR sh`.
install -m 0755 "$work/x-arm64/bin/busybox" "$root/bin/busybox" 2>/dev/null ||
  { mkdir -p "$root/bin"; install -m 0755 "$work/x-arm64/bin/busybox" "$root/bin/busybox"; }
# Applets the cases use, where no Debian package put a program.
for a in sh env cat grep sed sleep mkdir rm ls ps kill mount umount awk head tail cut tr wc echo \
  test [ printf id uname setsid timeout cp mv ln chmod readlink dirname basename date find xargs \
  mktemp tee touch sort uniq nproc hostname dmesg stat true false tar gzip seq expr pidof; do
  [ -e "$root/bin/$a" ] || [ -e "$root/usr/bin/$a" ] || [ -e "$root/sbin/$a" ] ||
    [ -e "$root/usr/sbin/$a" ] || ln -s busybox "$root/bin/$a"
done
mkdir -p "$root"/{proc,sys,dev,tmp,run,root,etc,var/lib,usr/local/bin,cases,armhf}
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\ndocker:x:999:\n' >"$root/etc/group"
for f in "${files[@]}"; do basename "$f"; done >"$root/etc/vm-disk"

# No journal (a throw-away snapshot) and no metadata checksums (crc32c is
# another module).
# Size: the tree plus a third for the daemons' writes (/var/lib/docker
# etc.; the snapshot overlay holds them, the image must fit them).
# An @DIR userland counts twice: dind start copies its input.
kb=$(du -sk "$root" | cut -f1)
for d in "${dests[@]}"; do
  [ -z "$d" ] || [ -n "${counted[$d]:-}" ] || { counted[$d]=1; kb=$(( kb + $(du -sk "$root$d" | cut -f1) )); }
done
size=$(( kb + kb / 3 + 65536 ))
rm -f "$work/disk.img"
mke2fs -q -t ext4 -O ^has_journal,^metadata_csum -E root_owner=0:0 -L vmdisk -d "$root" "$work/disk.img" "${size}k" >&2

# Kernel modules: the closure of what virtio-blk, ext4 and overlay depend
# on, read from each module's .modinfo (no depmod for arm64 here).
mkdir -p "$work/k" "$work/m/etc"
dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$work/k" --wildcards './lib/modules/*'
kdir=$(ls -d "$work"/k/lib/modules/*)
kver=$(basename "$kdir")
declare -A path seen
while read -r p; do n=$(basename "$p"); n=${n%.ko*}; path[${n//-/_}]=$p; done < <(find "$kdir" -name '*.ko*')
order=()
load() {
  local n=${1//-/_} d deps
  [ -n "${seen[$n]:-}" ] && return
  seen[$n]=1
  [ -n "${path[$n]:-}" ] || { log "module $n not in $kernel_pkg"; exit 1; }
  case ${path[$n]} in *.ko) ;; *) log "${path[$n]}: compressed modules are not handled"; exit 1 ;; esac
  deps=$(readelf -p .modinfo "${path[$n]}" | sed -n 's/.*\]  *depends=//p')
  for d in ${deps//,/ }; do load "$d"; done
  order+=("$n")
}
# ext4 asks the crypto API for crc32c at mount, a module of its own.
for m in virtio_mmio virtio_blk crc32c_generic ext4 overlay binfmt_misc; do load "$m"; done
for n in "${order[@]}"; do
  rel=${path[$n]#$work/k/}
  mkdir -p "$work/m/$(dirname "$rel")"
  cp "${path[$n]}" "$work/m/$rel"
  echo "/$rel" >>"$work/m/etc/vm-modules"
done
"$here/mkcpio.sh" "$work/m" "$work/modules.cpio.gz"

rm -f "$cache"/disk-*.img "$cache"/modules-*.cpio.gz
mv "$work/disk.img" "$disk"
mv "$work/modules.cpio.gz" "$mods"
# Drop debs no longer listed.
keep=" $(for f in "${files[@]}"; do printf '%s ' "$(basename "$f")"; done)"
for f in "$debs"/*.deb; do
  case $keep in *" $(basename "$f") "*) ;; *) rm -f "$f" ;; esac
done
log "built $(basename "$disk") ($((size / 1024)) MiB, kernel $kver modules: ${order[*]}) in $(( $(date +%s) - start ))s"
echo "DISK=$disk"
echo "MODULES=$mods"

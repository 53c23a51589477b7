#!/usr/bin/env bash
# Fetches and builds the cached assets of the arm64 VM test bed:
#   - Debian 12's current arm64 kernel (resolved through the
#     linux-image-arm64:arm64 metapackage), extracted to an Image that
#     qemu-system-aarch64 -kernel boots;
#   - base.cpio.gz, a gzip newc archive holding arm64 busybox at /bin/busybox,
#     armhf busybox at /armhf/busybox, the usual mount points, and every
#     extra Debian package listed in test/vm/payload-debs.txt unpacked into /.
#
# Usage: scripts/vm/assets.sh [CACHE_DIR]    (default: <repo>/.cache/vm, or
#        $ARMHF_SHIM_VM_CACHE)
# On success prints KEY=VALUE lines on stdout (KERNEL, KERNEL_PACKAGE,
# BASE_INITRD, PAYLOAD) and nothing else; progress goes to stderr.
# Idempotent: assets are rebuilt only when the resolved package versions, the
# payload list or this script change. Works offline once the cache is filled.
#
# Exit status: 0 ok, 3 a prerequisite is missing (tool or apt lists: run
# scripts/install-deps.sh), 1 anything else.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${1:-${ARMHF_SHIM_VM_CACHE:-$repo/.cache/vm}}
payload_list=${ARMHF_SHIM_VM_PAYLOAD:-$repo/test/vm/payload-debs.txt}

log() { echo "vm-assets: $*" >&2; }
missing() { log "$*"; exit 3; }

for tool in dpkg-deb cpio gzip flock sha256sum; do
  command -v "$tool" >/dev/null || missing "$tool not found: run scripts/install-deps.sh"
done

mkdir -p "$cache/debs"
exec 9>"$cache/.lock"
flock -w 900 9 || { log "timed out waiting for $cache/.lock"; exit 1; }

# Packages: fixed ones plus the payload list (comments and blanks ignored).
# An entry without :arch means :arm64.
payload=()
if [ -f "$payload_list" ]; then
  while read -r line; do
    line=${line%%#*}
    for p in $line; do
      case $p in *:*) ;; *) p=$p:arm64 ;; esac
      payload+=("$p")
    done
  done <"$payload_list"
fi

# One apt-cache call (each takes seconds) resolves every package to the
# candidate version in the local apt lists: lines "NAME:ARCH VERSION", plus
# "depends:NAME:ARCH DEPENDS" for the kernel metapackage.
kernel_meta=linux-image-arm64:arm64
table=$(apt-cache show --no-all-versions "$kernel_meta" busybox-static:arm64 busybox-static:armhf "${payload[@]}" 2>/dev/null |
  awk '/^Package: /{p=$2} /^Architecture: /{a=$2} /^Version: /{v=$2} /^Depends: /{d=substr($0,10)}
       /^$/{ if (p!="") { print p ":" a " " v; if (d!="") print "depends:" p ":" a " " d }; p=a=v=d="" }
       END{ if (p!="") { print p ":" a " " v; if (d!="") print "depends:" p ":" a " " d } }' || true)

# resolve PKG:ARCH -> candidate version (empty if unknown).
resolve() {
  awk -v k="$1" -v all="${1%%:*}:all" '$1==k || $1==all { print $2; exit }' <<<"$table"
}

# Fill $cache/debs with PKG:ARCH at the candidate version; sets $deb.
fetch() {
  local spec=$1 name=${1%%:*} arch=${1##*:} ver file tmp
  ver=$(resolve "$spec")
  if [ -z "$ver" ]; then
    # No apt lists for this architecture: reuse a cached deb if there is one.
    file=$(ls -1 "$cache/debs/${name}_"*"_${arch}.deb" 2>/dev/null | tail -n1 || true)
    [ -n "$file" ] || missing "apt-cache knows no $spec: run scripts/install-deps.sh (adds the arm64/armhf architectures and runs apt-get update)"
    log "apt-cache knows no $spec; reusing cached $(basename "$file")"
    deb=$file
    return
  fi
  file="$cache/debs/${name}_${ver//:/%3a}_${arch}.deb"
  if [ ! -s "$file" ]; then
    command -v apt-get >/dev/null || missing "apt-get not found"
    tmp=$(mktemp -d "$cache/debs/dl.XXXXXX")
    log "downloading $spec=$ver"
    # Every helper's apt-get shares one lock, as in disk.sh.
    if ! (cd "$tmp" && flock /tmp/armhf-apt.lock apt-get download -q "$spec=$ver" >&2); then
      rm -rf "$tmp"
      log "apt-get download $spec=$ver failed (stale apt lists? run apt-get update)"
      exit 1
    fi
    mv "$tmp"/*.deb "$file"
    rm -rf "$tmp"
  fi
  deb=$file
}

# "depends:linux-image-arm64:arm64 linux-image-6.1.0-NN-arm64 (= VERSION)"
kdep=$(awk -v k="depends:$kernel_meta" '$1==k { print $2, $4; exit }' <<<"$table")
kernel_pkg=${kdep%% *}
if [ -n "$kernel_pkg" ]; then
  kver=${kdep#* }; kver=${kver%)}
  case $kver in
    [0-9]*) ;;
    *) kver=$(apt-cache show --no-all-versions "$kernel_pkg:arm64" 2>/dev/null | sed -n 's/^Version: //p' | head -n1 || true) ;;
  esac
  table+=$'\n'"$kernel_pkg:arm64 $kver"
fi
if [ -z "$kernel_pkg" ]; then
  prev=$(ls -1 "$cache/debs/"linux-image-*-arm64_*_arm64.deb 2>/dev/null | tail -n1 || true)
  [ -n "$prev" ] || missing "apt-cache knows no $kernel_meta: run scripts/install-deps.sh"
  kernel_pkg=$(basename "$prev"); kernel_pkg=${kernel_pkg%%_*}
  log "apt-cache knows no $kernel_meta; reusing cached $kernel_pkg"
fi

fetch "$kernel_pkg:arm64"; kernel_deb=$deb
fetch busybox-static:arm64; bb64_deb=$deb
fetch busybox-static:armhf; bb32_deb=$deb
payload_debs=()
for p in "${payload[@]}"; do
  fetch "$p"; payload_debs+=("$deb")
done

stamp=$( {
  sha256sum "$0" | cut -d' ' -f1
  for f in "$kernel_deb" "$bb64_deb" "$bb32_deb" "${payload_debs[@]}"; do basename "$f"; done
} | sha256sum | cut -d' ' -f1)

kernel=$cache/Image
base=$cache/base.cpio.gz
if [ "$(cat "$cache/stamp" 2>/dev/null || true)" != "$stamp" ] || [ ! -s "$kernel" ] || [ ! -s "$base" ]; then
  work=$(mktemp -d "$cache/build.XXXXXX")
  trap 'rm -rf "$work"' EXIT

  log "extracting the kernel from $(basename "$kernel_deb")"
  mkdir "$work/k"
  dpkg-deb --fsys-tarfile "$kernel_deb" | tar -x -C "$work/k" --wildcards './boot/vmlinuz-*' './boot/config-*'
  vmlinuz=$(ls "$work"/k/boot/vmlinuz-*)
  # Debian 12 ships a plain (EFI-stub) Image; newer kernels may be gzip'd.
  if [ "$(head -c2 "$vmlinuz" | od -An -tx1 | tr -d ' ')" = 1f8b ]; then
    gzip -dc "$vmlinuz" >"$work/Image"
  else
    cp "$vmlinuz" "$work/Image"
  fi
  [ "$(dd if="$work/Image" bs=1 skip=56 count=4 2>/dev/null)" = ARM$'\x64' ] ||
    { log "$vmlinuz is not an arm64 Image (no ARM\\x64 magic at offset 56)"; exit 1; }

  log "building base initramfs"
  root=$work/root
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc,proc,sys,dev,tmp,run,root,armhf,cases,src}
  chmod 1777 "$root/tmp"
  for d in "${payload_debs[@]}"; do
    log "unpacking $(basename "$d")"
    dpkg-deb -x "$d" "$root"
  done
  mkdir "$work/bb64" "$work/bb32"
  dpkg-deb -x "$bb64_deb" "$work/bb64"
  dpkg-deb -x "$bb32_deb" "$work/bb32"
  install -m 0755 "$work/bb64/bin/busybox" "$root/bin/busybox"
  # The kernel's build configuration, where doctor looks for it (Debian's has no /proc/config.gz).
  mkdir -p "$root/boot" && cp "$work"/k/boot/config-* "$root/boot/"
  install -m 0755 "$work/bb32/bin/busybox" "$root/armhf/busybox"
  ln -sf busybox "$root/bin/sh"
  rm -rf "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/lintian"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  {
    echo "kernel=$kernel_pkg"
    for f in "$kernel_deb" "$bb64_deb" "$bb32_deb" "${payload_debs[@]}"; do basename "$f"; done
  } >"$root/etc/vm-assets"
  "$here/mkcpio.sh" "$root" "$work/base.cpio.gz"

  mv -f "$work/Image" "$kernel"
  mv -f "$work/base.cpio.gz" "$base"
  echo "$stamp" >"$cache/stamp"

  # Drop debs of superseded versions.
  keep=" $(for f in "$kernel_deb" "$bb64_deb" "$bb32_deb" "${payload_debs[@]}"; do printf '%s ' "$(basename "$f")"; done)"
  for f in "$cache"/debs/*.deb; do
    case $keep in *" $(basename "$f") "*) ;; *) log "removing superseded $(basename "$f")"; rm -f "$f" ;; esac
  done
fi

echo "KERNEL=$kernel"
echo "KERNEL_PACKAGE=$kernel_pkg"
echo "BASE_INITRD=$base"
echo "PAYLOAD=${payload[*]}"

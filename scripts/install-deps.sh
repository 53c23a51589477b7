#!/usr/bin/env bash
# Installs everything armhf-shim's tests need on a fresh Debian 12 machine (root).
# Idempotent: packages already present are not touched, and apt-get update runs
# only when something is missing.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "install-deps: must run as root (apt-get install); skipping" >&2
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive

# Present while the apt lists may lack a newly added architecture: it survives
# a failed apt-get update, so the next run refreshes them again.
stale=${ARMHF_SHIM_APT_STALE:-/tmp/.armhf-shim-apt-stale}

# Foreign architectures: their .debs (busybox-static:i386/armhf/arm64, the arm64
# kernel) are fetched with apt-get download by the tests, never installed.
# (The list is read once into a variable: `dpkg ... | grep -q` under pipefail fails now and then, when grep
# exits at its match and dpkg, still writing, dies of SIGPIPE.)
foreign=$(dpkg --print-foreign-architectures)
for a in arm64 armhf i386; do
  grep -qx "$a" <<<"$foreign" || { dpkg --add-architecture "$a"; touch "$stale"; }
done

pkgs=(
  runc docker.io lxc lxc-dev libcap2-bin podman
  qemu-system-arm qemu-user-static
  cpio busybox-static
  # the arm64 VM suite's daemon disk (mke2fs -d, readelf for its library check)
  e2fsprogs binutils
  hyperfine debootstrap iproute2 util-linux time
  # the systemd test bed (test/systemd): a Debian guest booting systemd under KVM (TCG without it)
  qemu-system-x86
  # make package's test reads the .rpm (rpm -qp)
  rpm
  # scripts/engines.sh: runc is cgo, linked statically against libseccomp, for the host and for arm64
  # (qualified by architecture: with both installed, an unqualified name is ambiguous to dpkg-query).
  pkg-config "libseccomp-dev:$(dpkg --print-architecture)" libseccomp-dev:arm64
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross
)
# The 32-bit dockerd of Debian's i386 packages (dind/debian386_test.go) runs on the host's loader:
# their libraries, multiarch, as docs/docker.md's "From Debian's packages" has the user install them.
if [ "$(dpkg --print-architecture)" = amd64 ]; then
  pkgs+=(libc6:i386 libseccomp2:i386 libdevmapper1.02.1:i386 libsystemd0:i386)
fi

missing=()
for p in "${pkgs[@]}"; do
  st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$st" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ] || [ -e "$stale" ]; then
  # A mirror mid-sync can fail one index; retry, then go on with what we have
  # (apt-get install below fails clearly if a package really is unavailable).
  updated=
  for i in 1 2 3; do
    if apt-get update -qq; then
      updated=1
      break
    fi
    echo "install-deps: apt-get update failed (try $i)" >&2
    [ "$i" = 3 ] || sleep $((i * 5))
  done
  if [ -n "$updated" ]; then
    rm -f "$stale"
  else
    echo "install-deps: apt-get update failed 3 times; the apt lists stay marked stale ($stale) and the next run" \
      "refreshes them again: check the network and /etc/apt/sources.list" >&2
  fi
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

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

# Foreign architectures: their .debs (busybox-static:i386/armhf/arm64, the arm64
# kernel) are fetched with apt-get download by the tests, never installed.
for a in arm64 armhf i386; do
  dpkg --print-foreign-architectures | grep -qx "$a" || { dpkg --add-architecture "$a"; touch /tmp/.armhf-shim-apt-stale; }
done

pkgs=(
  runc docker.io lxc lxc-dev libcap2-bin
  qemu-system-arm qemu-user-static
  cpio busybox-static
  hyperfine debootstrap iproute2 util-linux time
)

missing=()
for p in "${pkgs[@]}"; do
  st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$st" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ] || [ -e /tmp/.armhf-shim-apt-stale ]; then
  # A mirror mid-sync can fail one index; retry, then go on with what we have
  # (apt-get install below fails clearly if a package really is unavailable).
  for i in 1 2 3; do
    apt-get update -qq && break
    echo "install-deps: apt-get update failed (try $i), retrying" >&2
    sleep $((i * 5))
  done
  rm -f /tmp/.armhf-shim-apt-stale
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

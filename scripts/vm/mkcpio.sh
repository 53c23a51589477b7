#!/usr/bin/env bash
# Packs directory DIR into OUT, a gzip-compressed newc cpio archive as the
# Linux initramfs loader reads it (archives can be concatenated: later ones
# add to and override earlier ones). Files are owned by root in the archive.
# Usage: scripts/vm/mkcpio.sh DIR OUT
set -euo pipefail
[ $# = 2 ] || { echo "usage: $0 DIR OUT" >&2; exit 2; }
dir=$1 out=$2
[ -d "$dir" ] || { echo "mkcpio: $dir is not a directory" >&2; exit 1; }
command -v cpio >/dev/null || { echo "mkcpio: cpio not found: run scripts/install-deps.sh" >&2; exit 3; }
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
(cd "$dir" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 -n >"$tmp"
mv -f "$tmp" "$out"
trap - EXIT

#!/usr/bin/env bash
# Builds armhf-shim for arm64 and amd64 (and arm, for the VM's 32-bit userland)
# with CGO_ENABLED=0 and checks that each is a static executable: no ELF
# interpreter, no dynamic section.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for arch in arm64 amd64; do
  CGO_ENABLED=0 GOARCH=$arch go build -trimpath -ldflags '-s -w' -o "$out/armhf-shim-$arch" ./cmd/armhf-shim
  go run ./scripts/elfcheck "$out/armhf-shim-$arch" "$arch"
done

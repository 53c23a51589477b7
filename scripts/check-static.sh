#!/usr/bin/env bash
# Builds armhf-shim, armhf-runc and armhf-docker for arm64 and amd64
# with CGO_ENABLED=0 and checks that each is a static executable: no ELF
# interpreter, no dynamic section.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for arch in arm64 amd64; do
  for cmd in armhf-shim armhf-runc armhf-docker; do
    CGO_ENABLED=0 GOARCH=$arch go build -trimpath -tags urfave_cli_no_docs -ldflags '-s -w' -o "$out/$cmd-$arch" ./cmd/$cmd
    go run ./scripts/elfcheck "$out/$cmd-$arch" "$arch"
  done
done

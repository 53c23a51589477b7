#!/usr/bin/env bash
# Fails when a product package links the testing package from a non-test
# file: the harness (test/, internal/testenv) stays out of what ships.
# go list's Deps are the non-test imports, transitively, so a product file
# importing internal/testenv (which imports testing) is caught as well.
set -euo pipefail
cd "$(dirname "$0")/.."
mod=$(go list -m)
bad=$(go list -f '{{.ImportPath}} {{join .Deps " "}}' ./... | awk -v mod="$mod" '
  {
    rel = substr($1, length(mod) + 2)
    if (rel ~ /^test(\/|$)/ || rel == "internal/testenv") next
    for (i = 2; i <= NF; i++) if ($i == "testing") { print $1; next }
  }')
if [ -n "$bad" ]; then
  echo "check-imports: product packages link testing from non-test files (move the harness under test/):" >&2
  echo "$bad" >&2
  exit 1
fi

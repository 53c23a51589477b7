#!/usr/bin/env bash
# Builds the container engines of scripts/engines.versions (newer than Debian 12's) from the Go module
# proxy into .cache/engines/<goarch>/<name>-<version>/ and prints the paths of their binaries, one a line.
#
#   scripts/engines.sh [NAME...]               NAME: an engine (containerd) or one of its binaries (ctr);
#                                              none: every engine
#   GOARCH=arm64 scripts/engines.sh runc       cross-builds (runc's cgo needs gcc-aarch64-linux-gnu and
#                                              libseccomp-dev:arm64, which scripts/install-deps.sh installs)
#
# Each engine builds inside its own module (from the module cache) as the main module, as
# `go install pkg@version` would, except that its go.mod's replace and exclude directives apply (go install
# refuses modules that have them, e.g. buildkit's) and the go.sum is upstream's.
# Idempotent: an engine is built when its stamp, written last and holding the recipe, matches; a build
# killed half-way or an edited recipe builds again. A flock per engine keeps concurrent tests from
# building it twice. Build output goes to stderr; stdout has only the paths.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
versions=$root/scripts/engines.versions
goarch=${GOARCH:-$(go env GOARCH)}
cache=$root/.cache/engines/$goarch

# engines: "name version module package..." for each line of the versions file.
mapfile -t engines < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$versions")

# recipe NAME MODULE VERSION: the environment and go build flags of one engine, as upstream's release
# builds set them (Makefiles, Dockerfiles), one a line; static binaries, so they run in any rootfs or VM.
recipe() {
  local name=$1 mod=$2 ver=$3
  local x="-X $mod/version.Version=$ver -X $mod/version.Package=$mod"
  case $name in
  containerd) printf '%s\n' CGO_ENABLED=0 -tags= "-ldflags=-s -w $x" ;;
  runc)
    # nsenter is C: runc needs cgo; static-pie as runc's `make static` links it, seccomp from
    # libseccomp-dev's static library.
    printf '%s\n' CGO_ENABLED=1 -buildmode=pie "-tags=seccomp urfave_cli_no_docs netgo osusergo" \
      "-ldflags=-s -w -linkmode external -extldflags -static-pie"
    if [ "$goarch" != "$(go env GOHOSTARCH)" ]; then
      local triplet
      case $goarch in
      arm64) triplet=aarch64-linux-gnu ;;
      *) echo "engines: no C cross-compiler known for GOARCH=$goarch (runc needs cgo)" >&2; return 1 ;;
      esac
      printf '%s\n' "CC=$triplet-gcc" "PKG_CONFIG_LIBDIR=/usr/lib/$triplet/pkgconfig:/usr/share/pkgconfig"
    fi
    ;;
  crictl) printf '%s\n' CGO_ENABLED=0 -tags= "-ldflags=-s -w -X $mod/pkg/version.Version=$ver" ;;
  buildkit) printf '%s\n' CGO_ENABLED=0 "-tags=osusergo netgo static_build seccomp grpcnotrace" "-ldflags=-s -w $x" ;;
  buildx) printf '%s\n' CGO_ENABLED=0 -tags= "-ldflags=-s -w $x" ;;
  *) echo "engines: no recipe for $name" >&2; return 1 ;;
  esac
}

# has WORD LIST...: whether WORD is one of LIST. (Not `printf | grep -q`: grep exits at the first match, and
# under pipefail the printf it leaves writing dies of SIGPIPE, failing the pipeline now and then.)
has() {
  local w=$1 x
  shift
  for x in "$@"; do [ "$x" = "$w" ] && return 0; done
  return 1
}

# binaries PACKAGE...: the binary name of each package (go build's: its last path element).
binaries() {
  local p
  for p in "$@"; do
    if [ "$p" = . ]; then echo "$name"; else basename "$p"; fi
  done
}

# build NAME VERSION MODULE PACKAGE...: builds the engine unless its stamp matches; sets $dir.
build() {
  local name=$1 ver=$2 mod=$3
  shift 3
  dir=$cache/$name-$ver
  local stamp=$dir/.stamp want
  want=$(printf 'go %s GOARCH=%s\n%s\npackages %s\n' "$(go env GOVERSION)" "$goarch" "$(recipe "$name" "$mod" "$ver")" "$*")
  [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
  mkdir -p "$cache"
  local lock
  exec {lock}>"$dir.lock"
  flock "$lock"
  # Another process may have built it while this one waited.
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    local start=$SECONDS src
    echo "engines: building $name $ver for $goarch" >&2
    src=$(go mod download -json "$mod@$ver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
    [ -d "$src" ] || { echo "engines: go mod download $mod@$ver gave no directory" >&2; return 1; }
    rm -rf "$dir"
    mkdir -p "$dir"
    local -a env=(GOARCH="$goarch" GOWORK=off) flags=()
    local line
    while IFS= read -r line; do
      case $line in -*) flags+=("$line") ;; *) env+=("$line") ;; esac
    done < <(recipe "$name" "$mod" "$ver")
    local -a pkgs=()
    local p
    for p in "$@"; do
      if [ "$p" = . ]; then pkgs+=(.); else pkgs+=("./$p"); fi
    done
    # -o DIR/ writes each main package's binary under its own name.
    (cd "$src" && env "${env[@]}" go build -mod=readonly -trimpath -buildvcs=false "${flags[@]}" -o "$dir/" "${pkgs[@]}") >&2
    printf '%s\n' "$want" >"$stamp.tmp"
    mv "$stamp.tmp" "$stamp"
    echo "engines: built $name $ver for $goarch in $((SECONDS - start))s" >&2
  fi
  flock -u "$lock"
  exec {lock}>&-
}

[ $# -gt 0 ] || set -- $(printf '%s\n' "${engines[@]}" | awk '{print $1}')

for want in "$@"; do
  found=
  for line in "${engines[@]}"; do
    read -r name ver mod pkgs <<<"$line"
    read -r -a pkgs <<<"$pkgs"
    mapfile -t bins < <(binaries "${pkgs[@]}")
    if [ "$want" = "$name" ]; then
      build "$name" "$ver" "$mod" "${pkgs[@]}"
      printf '%s\n' "${bins[@]/#/$dir/}"
    elif has "$want" "${bins[@]}"; then
      build "$name" "$ver" "$mod" "${pkgs[@]}"
      echo "$dir/$want"
    else
      continue
    fi
    found=1
    break
  done
  [ -n "$found" ] || { echo "engines: unknown engine or binary $want (see $versions)" >&2; exit 2; }
done

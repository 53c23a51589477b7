# vm-timeout: 240
# docker build on the 32-bit dockerd of dind-0-start, no --platform:
# Docker itself picks linux/arm/v7. BuildKit (DOCKER_BUILDKIT=1) of FROM
# scratch + COPY the armhf busybox rootfs (and platformprobe) + RUN, then
# the classic builder FROM the loaded armhf image. Output: the RUNs' lines
# ("uname -m: M", "CPU architecture: N", "platform: P", "classic uname -m:
# M"), "build took Ns", "image: OS/ARCH/VARIANT" of the BuildKit result.
. /cases/_lib.sh
. /cases/_disk.sh
need "$PROBE"
disk_up
dk() { in_disk docker -H unix:///var/lib/armhf-shim/dind/docker.sock "$@"; }
dk version >/dev/null 2>&1 || { echo "the dind daemon of dind-0-start does not answer" >&2; exit 1; }
probe_context /tmp/dind-build || exit 1
mkdir -p "$D/tmp/dind-classic"
# --network none: dockerd runs with --bridge=none.
t0=$(cut -d' ' -f1 /proc/uptime)
in_disk env DOCKER_BUILDKIT=1 docker -H unix:///var/lib/armhf-shim/dind/docker.sock build \
  --progress=plain --network none -t dind-build /tmp/dind-build >/tmp/dind-build.log 2>&1; rc=$?
echo "build took $(since "$t0") (exit $rc)"
cat /tmp/dind-build.log >&2
run_lines /tmp/dind-build.log
[ $rc = 0 ] || exit $rc
echo "image: $(dk image inspect -f '{{.Os}}/{{.Architecture}}/{{.Variant}}' dind-build)"
printf 'FROM busybox-armhf:latest\nRUN echo "@@ classic uname -m: $(uname -m)"\n' >$D/tmp/dind-classic/Dockerfile
in_disk env DOCKER_BUILDKIT=0 docker -H unix:///var/lib/armhf-shim/dind/docker.sock build \
  --network none /tmp/dind-classic >/tmp/dind-classic.log 2>&1; rc=$?
cat /tmp/dind-classic.log >&2
sed -n 's/^@@ //p' /tmp/dind-classic.log
exit $rc

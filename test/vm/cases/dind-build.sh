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
ctx=$D/tmp/dind-build
rm -rf "$ctx"; mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/x" "$D/tmp/dind-classic"
tar -xf $D/images/busybox-armhf.tar -C "$ctx/x" || exit 1
for l in "$ctx"/x/*/layer.tar; do tar -xf "$l" -C "$ctx/rootfs" || exit 1; done
rm -rf "$ctx/x"
cp "$PROBE" "$ctx/rootfs/usr/local/bin/platformprobe"
cat >"$ctx/Dockerfile" <<'DF'
FROM scratch
COPY rootfs/ /
RUN echo "@@ uname -m: $(uname -m)"; echo "@@ $(grep -m1 '^CPU architecture' /proc/cpuinfo)"; echo "@@ platform: $(/usr/local/bin/platformprobe)"
DF
# --network none: dockerd runs with --bridge=none.
t0=$(cut -d' ' -f1 /proc/uptime)
in_disk env DOCKER_BUILDKIT=1 docker -H unix:///var/lib/armhf-shim/dind/docker.sock build \
  --progress=plain --network none -t dind-build /tmp/dind-build >/tmp/dind-build.log 2>&1; rc=$?
echo "build took $(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.2fs", b - a }') (exit $rc)"
cat /tmp/dind-build.log >&2
sed -n 's/^#[0-9]* [0-9.]* @@ //p' /tmp/dind-build.log
[ $rc = 0 ] || exit $rc
echo "image: $(dk image inspect -f '{{.Os}}/{{.Architecture}}/{{.Variant}}' dind-build)"
printf 'FROM busybox-armhf:latest\nRUN echo "@@ classic uname -m: $(uname -m)"\n' >$D/tmp/dind-classic/Dockerfile
in_disk env DOCKER_BUILDKIT=0 docker -H unix:///var/lib/armhf-shim/dind/docker.sock build \
  --network none /tmp/dind-classic >/tmp/dind-classic.log 2>&1; rc=$?
cat /tmp/dind-classic.log >&2
sed -n 's/^@@ //p' /tmp/dind-classic.log
exit $rc

# vm-timeout: 240
# BuildKit embedded in the dockerd of dockerd-0-start (started with the PATH
# of install buildkit's drop-in): DOCKER_BUILDKIT=1 docker build
# --platform linux/arm/v7 of FROM scratch + COPY the armhf busybox rootfs
# (and platformprobe, GOARCH=arm) + RUN. No QEMU is registered in the VM,
# so the RUN runs natively through the runc link or not at all.
# Output: the RUN's "uname -m: M", "CPU architecture: N", "platform: P"
# lines, "build took Ns", "image: OS/ARCH/VARIANT"; the whole build log on
# stderr.
. /cases/_lib.sh
. /cases/_disk.sh
need "$PROBE"
disk_up
ctx=$D/tmp/build-armhf
rm -rf "$ctx"; mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/x"
# The rootfs: the layer of the armhf busybox docker-archive on the disk.
tar -xf $D/images/busybox-armhf.tar -C "$ctx/x" || exit 1
for l in "$ctx"/x/*/layer.tar; do tar -xf "$l" -C "$ctx/rootfs" || exit 1; done
cp "$PROBE" "$ctx/rootfs/usr/local/bin/platformprobe"
cat >"$ctx/Dockerfile" <<'DF'
FROM scratch
COPY rootfs/ /
RUN echo "@@ uname -m: $(uname -m)"; echo "@@ $(grep -m1 '^CPU architecture' /proc/cpuinfo)"; echo "@@ platform: $(/usr/local/bin/platformprobe)"
DF
# --network none: dockerd runs with --bridge=none (dockerd-0-start), and a
# RUN on the default network asks for that bridge.
t0=$(cut -d' ' -f1 /proc/uptime)
in_disk env DOCKER_BUILDKIT=1 docker build --progress=plain --network none --platform linux/arm/v7 \
  -t vm-build-armhf /tmp/build-armhf >/tmp/build-armhf.log 2>&1; rc=$?
echo "build took $(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.2fs", b - a }') (exit $rc)"
cat /tmp/build-armhf.log >&2
# The RUN's own lines, without BuildKit's "#N 0.123 " prefix.
sed -n 's/^#[0-9]* [0-9.]* @@ //p' /tmp/build-armhf.log
[ $rc = 0 ] || exit $rc
echo "image: $(in_disk docker image inspect -f '{{.Os}}/{{.Architecture}}/{{.Variant}}' vm-build-armhf)"

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
probe_context /tmp/build-armhf || exit 1
# --network none: dockerd runs with --bridge=none (dockerd-0-start), and a
# RUN on the default network asks for that bridge.
t0=$(cut -d' ' -f1 /proc/uptime)
in_disk env DOCKER_BUILDKIT=1 docker build --progress=plain --network none --platform linux/arm/v7 \
  -t vm-build-armhf /tmp/build-armhf >/tmp/build-armhf.log 2>&1; rc=$?
echo "build took $(since "$t0") (exit $rc)"
cat /tmp/build-armhf.log >&2
run_lines /tmp/build-armhf.log
[ $rc = 0 ] || exit $rc
echo "image: $(in_disk docker image inspect -f '{{.Os}}/{{.Architecture}}/{{.Variant}}' vm-build-armhf)"

# vm-timeout: 240
# The standalone buildkitd of buildkitd-0-start, driven by buildctl:
# --opt platform=linux/arm/v7 of FROM scratch + COPY the armhf busybox
# rootfs (and platformprobe, GOARCH=arm) + RUN. No QEMU is registered in
# the VM, so the RUN runs natively through the wrapper or not at all.
# Output: the RUN's "uname -m: M", "CPU architecture: N", "platform: P"
# lines, "build took Ns", and "image: OS/ARCH/VARIANT" read from the
# config of the OCI archive it exported; the build log on stderr.
. /cases/_lib.sh
. /cases/_disk.sh
need "$PROBE"
disk_up
probe_context /tmp/build-bk || exit 1
t0=$(cut -d' ' -f1 /proc/uptime)
in_disk buildctl build --progress=plain --frontend dockerfile.v0 \
  --local context=/tmp/build-bk --local dockerfile=/tmp/build-bk \
  --opt platform=linux/arm/v7 --output type=oci,dest=/tmp/build-bk.oci.tar \
  >/tmp/build-bk.log 2>&1; rc=$?
echo "build took $(since "$t0") (exit $rc)"
cat /tmp/build-bk.log >&2
run_lines /tmp/build-bk.log
[ $rc = 0 ] || exit $rc
# index.json -> the manifest -> its config (the manifest's first digest).
o=/tmp/build-bk.oci; rm -rf $o; mkdir -p $o
tar -xf $D/tmp/build-bk.oci.tar -C $o || exit 1
# BuildKit writes the manifest indented: spaces after the colons.
digest() { grep -o '"digest": *"sha256:[0-9a-f]*"' "$1" | head -1 | sed 's/.*sha256://; s/"//'; }
m=$(digest $o/index.json); c=$(digest $o/blobs/sha256/$m)
field() { sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p" $o/blobs/sha256/$c | head -1; }
echo "image: $(field os)/$(field architecture)/$(field variant)"

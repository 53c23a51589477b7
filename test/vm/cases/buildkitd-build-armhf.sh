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
ctx=$D/tmp/build-bk
rm -rf "$ctx"; mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/x"
tar -xf $D/images/busybox-armhf.tar -C "$ctx/x" || exit 1
for l in "$ctx"/x/*/layer.tar; do tar -xf "$l" -C "$ctx/rootfs" || exit 1; done
rm -rf "$ctx/x"
cp "$PROBE" "$ctx/rootfs/usr/local/bin/platformprobe"
cat >"$ctx/Dockerfile" <<'DF'
FROM scratch
COPY rootfs/ /
RUN echo "@@ uname -m: $(uname -m)"; echo "@@ $(grep -m1 '^CPU architecture' /proc/cpuinfo)"; echo "@@ platform: $(/usr/local/bin/platformprobe)"
DF
t0=$(cut -d' ' -f1 /proc/uptime)
in_disk buildctl build --progress=plain --frontend dockerfile.v0 \
  --local context=/tmp/build-bk --local dockerfile=/tmp/build-bk \
  --opt platform=linux/arm/v7 --output type=oci,dest=/tmp/build-bk.oci.tar \
  >/tmp/build-bk.log 2>&1; rc=$?
echo "build took $(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.2fs", b - a }') (exit $rc)"
cat /tmp/build-bk.log >&2
sed -n 's/^#[0-9]* [0-9.]* @@ //p' /tmp/build-bk.log
[ $rc = 0 ] || exit $rc
# index.json -> the manifest -> its config (the manifest's first digest).
o=/tmp/build-bk.oci; rm -rf $o; mkdir -p $o
tar -xf $D/tmp/build-bk.oci.tar -C $o || exit 1
# BuildKit writes the manifest indented: spaces after the colons.
digest() { grep -o '"digest": *"sha256:[0-9a-f]*"' "$1" | head -1 | sed 's/.*sha256://; s/"//'; }
m=$(digest $o/index.json); c=$(digest $o/blobs/sha256/$m)
field() { sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p" $o/blobs/sha256/$c | head -1; }
echo "image: $(field os)/$(field architecture)/$(field variant)"

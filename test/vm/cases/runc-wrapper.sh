# vm-timeout: 90
# Debian's runc:arm64 running an armhf busybox bundle, bare and through the
# armhf-shim runtime wrapper. The initramfs root cannot pivot_root, hence
# --no-pivot. Output: one "bare:" and one "wrapped:" line each for uname -m
# and the cpuinfo architecture, then the wrapper's log on failure.
. /cases/_lib.sh
need "$SHIM" /usr/sbin/runc
b=/tmp/bundle
mkdir -p $b/rootfs/bin $b/rootfs/proc $b/rootfs/dev $b/rootfs/sys $b/rootfs/tmp
cp /armhf/busybox $b/rootfs/bin/busybox
for a in sh uname grep head cat sed; do ln -s busybox $b/rootfs/bin/$a; done
cd $b
/usr/sbin/runc spec
# A non-interactive process that prints what an armhf build would see:
# "<uname -m> <CPU architecture>", e.g. "armv8l 7".
cat > rootfs/probe.sh <<'PROBE'
echo "$(uname -m) $(grep -m1 'CPU architecture' /proc/cpuinfo | sed 's/.*: *//')"
PROBE
sed -i -e 's/"terminal": true/"terminal": false/' -e 's|"sh"$|"sh", "/probe.sh"|' config.json
grep -q '"/probe.sh"' config.json || { echo "could not edit runc spec's config.json" >&2; exit 2; }
cp config.json config.orig.json
bare=$(/usr/sbin/runc run --no-pivot bare 2>/tmp/bare.err) || { echo "bare runc failed:"; cat /tmp/bare.err; }
echo "bare: $bare"
cp config.orig.json config.json
wrapped=$(ARMHF_SHIM_RUNTIME=/usr/sbin/runc "$SHIM" runtime --debug --log /tmp/wrap.log --log-format json run --no-pivot wrapped 2>/tmp/wrap.err)
rc=$?
echo "wrapped: $wrapped"
if [ $rc -ne 0 ]; then
  echo "wrapper rc=$rc" >&2
  cat /tmp/wrap.err /tmp/wrap.log >&2
fi
# Nothing of the container may be left in the wrapper's state directory
# (the cpuinfo cache shared by all containers of a CPU set stays).
"$SHIM" runtime delete wrapped >/dev/null 2>&1
ls /run/armhf-shim 2>/dev/null | grep -vx cache | sed "s/^/leftover: /"
exit $rc

# Helpers for the cases that need the VM's second disk (scripts/vm/disk.sh:
# Debian's docker.io, containerd, runc and the busybox images), sourced after
# _lib.sh. disk_up loads the modules, mounts the disk at $D once per boot
# and prepares it as a chroot with the project's binaries bind-mounted in;
# in_disk runs a command in that chroot.
D=/d

disk_up() {
  [ -f /run/vm-disk-up ] && return 0
  if [ ! -s /etc/vm-modules ]; then
    echo "no /etc/vm-modules: this VM was booted without the disk (scripts/vm/disk.sh)" >&2
    exit 2
  fi
  while read -r m; do
    insmod "$m" 2>/tmp/insmod.err || grep -q "File exists" /tmp/insmod.err ||
      { echo "insmod $m: $(cat /tmp/insmod.err)" >&2; exit 2; }
  done </etc/vm-modules
  i=0
  while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  mkdir -p $D
  mount -t ext4 /dev/vda $D || { echo "mount /dev/vda: failed (see dmesg)" >&2; dmesg | tail -5 >&2; exit 2; }
  mount -t proc proc $D/proc
  # binfmt_misc mounted, as systemd does: with no QEMU handler in it the
  # wrapper knows a 32-bit image cannot run on a CPU without AArch32.
  mount -t binfmt_misc binfmt_misc $D/proc/sys/fs/binfmt_misc
  mount --rbind /sys $D/sys
  mount --rbind /dev $D/dev
  mount -t tmpfs -o mode=0755 tmpfs $D/run
  mount -t tmpfs -o mode=1777 tmpfs $D/tmp
  for b in /usr/local/bin /cases /armhf; do mount --bind $b $D$b; done
  # What a host has and no package on the disk provides: the CRI copies
  # them into host-network pods.
  echo "127.0.0.1 localhost $(hostname)" >$D/etc/hosts
  : >$D/etc/resolv.conf
  # cgroup v2: let the daemons' child cgroups use the controllers.
  for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
    echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
  done
  touch /run/vm-disk-up
}

in_disk() {
  chroot $D /bin/busybox env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root TMPDIR=/tmp VM_CPU_MODEL="$VM_CPU_MODEL" ARMHF_SHIM_EXPECT_NATIVE="$ARMHF_SHIM_EXPECT_NATIVE" "$@"
}

# wait_for SECS CMD...: retries CMD every 0.5 s for up to SECS seconds;
# prints how long it took ("2.31s").
wait_for() {
  n=$(($1 * 2)); shift
  t0=$(cut -d' ' -f1 /proc/uptime)
  i=0
  while ! "$@" >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -ge $n ] && return 1
    sleep 0.5
  done
  awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.2fs\n", b - a }'
}

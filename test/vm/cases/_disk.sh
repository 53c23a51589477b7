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
  since "$t0"; echo
}

# since T0: seconds since T0 (a /proc/uptime reading), as "2.31s".
since() {
  awk -v a="$1" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.2fs", b - a }'
}

# probe_context DIR: a build context in the disk at DIR (a path as the
# chroot sees it): the armhf busybox rootfs (the layer of the disk's
# docker-archive) with platformprobe, and a Dockerfile FROM scratch whose RUN
# prints "@@ uname -m: M", "@@ CPU architecture: N" and "@@ platform: P".
probe_context() {
  rm -rf "$D$1"; mkdir -p "$D$1/rootfs/usr/local/bin" "$D$1/x"
  tar -xf $D/images/busybox-armhf.tar -C "$D$1/x" || return 1
  for l in "$D$1"/x/*/layer.tar; do tar -xf "$l" -C "$D$1/rootfs" || return 1; done
  rm -rf "$D$1/x"
  cp "$PROBE" "$D$1/rootfs/usr/local/bin/platformprobe"
  cat >"$D$1/Dockerfile" <<'DF'
FROM scratch
COPY rootfs/ /
RUN echo "@@ uname -m: $(uname -m)"; echo "@@ $(grep -m1 '^CPU architecture' /proc/cpuinfo)"; echo "@@ platform: $(/usr/local/bin/platformprobe)"
DF
}

# run_lines LOG: the "@@ " lines a BuildKit build's RUN printed, from its
# --progress=plain LOG, without BuildKit's "#N 0.123 " prefix.
run_lines() {
  sed -n 's/^#[0-9]* [0-9.]* @@ //p' "$1"
}

# start_daemon NAME SECS LOG CMD...: waits up to SECS for CMD (a client
# call) to answer; prints "NAME ready after Ns", or fails with LOG's tail.
start_daemon() {
  name=$1 secs=$2 log=$3; shift 3
  if t=$(wait_for "$secs" "$@"); then
    echo "$name ready after $t"
  else
    echo "$name did not answer within ${secs}s; its log:" >&2
    tail -30 "$log" >&2
    exit 1
  fi
}

# stop_daemon NAME: SIGTERM to the running NAME, waiting up to 50 s; prints
# "stopped after Ns" (or "no NAME running").
stop_daemon() {
  pid=$(pidof "$1") || { echo "no $1 running"; return 0; }
  kill $pid
  i=0
  while kill -0 $pid 2>/dev/null && [ $i -lt 100 ]; do sleep 0.5; i=$((i + 1)); done
  kill -0 $pid 2>/dev/null && { echo "$1 (pid $pid) did not stop within 50s" >&2; exit 1; }
  echo "stopped after $((i / 2))s"
}

# vm-timeout: 120
# docker run of the armhf busybox image through the default runtime that
# `armhf-shim install docker --set-as-default` registered (no --runtime).
# Output: "uname -m: M" and "CPU architecture: N" as the container sees them.
. /cases/_lib.sh
. /cases/_disk.sh
disk_up
in_disk docker run --rm busybox-armhf:latest sh -c \
  'echo "uname -m: $(uname -m)"; grep -m1 "^CPU architecture" /proc/cpuinfo'

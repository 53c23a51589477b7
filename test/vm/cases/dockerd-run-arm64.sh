# vm-timeout: 120
# An arm64 image through the same default runtime: the wrapper must leave it
# alone. Output: "uname -m: M", then the container's /proc/cpuinfo.
. /cases/_lib.sh
. /cases/_disk.sh
disk_up
in_disk docker run --rm busybox-arm64:latest sh -c 'echo "uname -m: $(uname -m)"; cat /proc/cpuinfo'

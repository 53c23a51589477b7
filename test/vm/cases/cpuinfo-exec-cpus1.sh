# armhf-shim exec --cpus 1: the command runs pinned to CPU 1 and its view
# lists that one processor, numbered 0 (as the kernel numbers a container's).
. /cases/_lib.sh
need "$SHIM"
exec "$SHIM" exec --cpus 1 -- /armhf/busybox sh -c '/armhf/busybox cat /proc/cpuinfo; echo "nproc: $(/armhf/busybox nproc)"'

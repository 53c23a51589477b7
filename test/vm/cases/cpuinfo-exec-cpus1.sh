# armhf-shim exec --cpus 1: the view lists one processor.
. /cases/_lib.sh
need "$SHIM"
exec "$SHIM" exec --cpus 1 -- /armhf/busybox cat /proc/cpuinfo

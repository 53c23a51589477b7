# /proc/cpuinfo as an armhf program run by armhf-shim sees it.
. /cases/_lib.sh
need "$SHIM"
exec "$SHIM" exec -- /armhf/busybox cat /proc/cpuinfo

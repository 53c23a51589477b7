# An armhf program under armhf-shim: LINUX32 makes the kernel say armv8l.
. /cases/_lib.sh
need "$SHIM"
exec "$SHIM" exec -- /armhf/busybox uname -m

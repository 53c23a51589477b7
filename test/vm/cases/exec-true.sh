# The simplest exec; on a CPU without AArch32 it must fail clearly.
. /cases/_lib.sh
need "$SHIM"
exec "$SHIM" exec -- /armhf/busybox true

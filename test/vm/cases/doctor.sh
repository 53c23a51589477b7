# armhf-shim doctor: 0 when the CPU runs AArch32 natively, 1 when not.
. /cases/_lib.sh
need "$SHIM"
exec "$SHIM" doctor

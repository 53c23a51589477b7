# armhf-shim doctor --json on the real arm64 kernel: the kernel section
# (CONFIG_COMPAT from /boot/config-*, page size, /proc/sys/abi knobs,
# binfmt_misc). Exit 1 on a CPU without AArch32, as doctor's.
. /cases/_lib.sh
need "$SHIM"
ls /boot >&2
exec "$SHIM" doctor --json

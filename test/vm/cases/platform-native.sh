# containerd's platform detection in a GOARCH=arm program without
# armhf-shim: linux/arm/v8 (the bug armhf-shim exists to fix).
. /cases/_lib.sh
need "$PROBE"
exec "$PROBE"

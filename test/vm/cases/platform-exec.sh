# containerd's platform detection in a GOARCH=arm program under armhf-shim.
. /cases/_lib.sh
need "$SHIM" "$PROBE"
exec "$SHIM" exec -- "$PROBE"

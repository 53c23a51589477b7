# GNU config.guess (Debian's autotools-dev) run by the armhf busybox, whose
# applets are the only commands on PATH so that its `uname -m` is a 32-bit
# call: armv7l-unknown-linux-gnueabihf with exec --machine armv7l, and
# armv8l-... (the kernel's LINUX32 answer) without it.
. /cases/_lib.sh
need "$SHIM" /usr/share/misc/config.guess
# Without AArch32 (a64fx) this is where it stops, saying so.
"$SHIM" exec --machine armv7l -- /armhf/busybox true || exit
mkdir -p /tmp/armhf-applets && /armhf/busybox --install -s /tmp/armhf-applets || exit
run() { PATH=/tmp/armhf-applets "$SHIM" exec "$@" -- /armhf/busybox sh /usr/share/misc/config.guess; }
run --machine armv7l || exit
run

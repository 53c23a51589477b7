# exec --machine armv7l (docs/uname.md): the armhf program's uname(2) is
# answered through seccomp user notification; uname -a keeps the kernel's
# other fields, and a 64-bit program still gets the kernel's answer.
. /cases/_lib.sh
need "$SHIM"
"$SHIM" exec --machine armv7l -- /armhf/busybox uname -m || exit
"$SHIM" exec --machine armv7l -- /armhf/busybox uname -a || exit
/bin/busybox uname -a
exec "$SHIM" exec --machine armv7l -- /bin/busybox uname -m

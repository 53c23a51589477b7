# An armhf program without armhf-shim: the kernel says aarch64.
exec /armhf/busybox uname -m

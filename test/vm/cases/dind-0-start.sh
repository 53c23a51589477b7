# vm-timeout: 300
# The 32-bit dockerd route: `armhf-shim dind start` of Debian's docker.io,
# containerd, runc and tini for armhf (the disk's /dind-armhf, their package
# layout; their armhf libraries in the disk's / as multiarch packages put
# them), host network as the VM has none. It stays up for the other dind-*
# cases. Output: "dind ready after Ns", "version: OS/ARCH" (the server's),
# "info: ARCH OSTYPE NCPU", the images loaded.
. /cases/_lib.sh
. /cases/_disk.sh
need "$SHIM"
disk_up
t0=$(cut -d' ' -f1 /proc/uptime)
in_disk armhf-shim dind start --input /dind-armhf --timeout 240s --network host -- \
  --iptables=false --ip6tables=false --bridge=none --storage-driver=overlay2 || exit 1
echo "dind ready after $(since "$t0")"
dk() { in_disk docker -H unix:///var/lib/armhf-shim/dind/docker.sock "$@"; }
echo "version: $(dk version -f '{{.Server.Os}}/{{.Server.Arch}}')"
echo "info: $(dk info -f '{{.Architecture}} {{.OSType}} {{.NCPU}}')"
dk load -q -i /images/busybox-armhf.tar || exit 1
dk image ls --format '{{.Repository}}:{{.Tag}}'

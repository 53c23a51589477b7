# vm-timeout: 300
# Starts Debian's dockerd:arm64 (with its own containerd, Debian's runc) in
# the disk's chroot after `armhf-shim install docker --set-as-default` and
# `armhf-shim install buildkit`, and loads the busybox images (armhf
# labelled linux/arm/v7, arm64). The daemon stays up for the other dockerd-*
# cases of this boot. Output: the installs' reports, "dockerd PATH: ...",
# "dockerd ready after Ns", "default-runtime: NAME", the images.
. /cases/_lib.sh
. /cases/_disk.sh
need "$SHIM"
disk_up
in_disk armhf-shim install docker --set-as-default || exit 1
echo "daemon.json: $(in_disk cat /etc/docker/daemon.json | tr -d ' \n')"
in_disk armhf-shim install buildkit || exit 1
# There is no systemd in the VM: dockerd gets the PATH the drop-in install
# buildkit wrote would give it (its embedded BuildKit runs `runc` from PATH).
dropin=/etc/systemd/system/docker.service.d/armhf-shim-buildkit.conf
dpath=$(sed -n 's/^Environment="PATH=\(.*\)"$/\1/p' "$D$dropin")
[ -n "$dpath" ] || { echo "no Environment=\"PATH=...\" line in $dropin:" >&2; cat "$D$dropin" >&2; exit 1; }
echo "dockerd PATH: $dpath (from $dropin)"
echo "runc on that PATH: $(in_disk env PATH="$dpath" sh -c 'r=$(command -v runc) && echo "$r -> $(readlink "$r")"')"
# No bridge and no iptables: nothing here needs a network, and Debian's
# iptables is not on the disk.
in_disk env PATH="$dpath" setsid dockerd --bridge=none --iptables=false --ip6tables=false \
  --storage-driver=overlay2 >/tmp/dockerd.log 2>&1 </dev/null &
start_daemon dockerd 240 /tmp/dockerd.log in_disk docker info -f '{{.ServerVersion}}'
echo "default-runtime: $(in_disk docker info -f '{{.DefaultRuntime}}')"
for i in armhf arm64; do
  in_disk docker load -q -i /images/busybox-$i.tar || { tail -20 /tmp/dockerd.log >&2; exit 1; }
done
in_disk docker image ls --format '{{.Repository}}:{{.Tag}}'

# vm-timeout: 180
# After the reboot: the units enabled before start without error and do what the docs say; the
# engines come up with setup's configuration. The cpuinfo file is there before any docker ran.
. /bed/cases/_lib.sh
systemctl is-system-running --wait
systemctl --failed --no-legend
show armhf-shim-cpuinfo.service armhf-shim-seccomp-agent.socket armhf-shim-seccomp-agent.service docker.service containerd.service armhf-buildkitd.socket armhf-buildkitd.service
journalctl -b -u armhf-shim-cpuinfo.service -u armhf-shim-seccomp-agent.socket --no-pager -o cat | sed 's/^/journal: /'
echo "== cpuinfo file"; ls -l /run/armhf-shim/; grep -m1 'CPU architecture' /run/armhf-shim/cpuinfo
echo "== docker run through the docker CLI wrapper"
command -v docker
docker run --rm bed/busybox:386 sh -c 'echo "uname=$(uname -m)"; grep -m1 "CPU architecture" /proc/cpuinfo'
echo "== seccomp agent"
docker run --rm --runtime armhf -e ARMHF_SHIM_MACHINE=armv7l bed/busybox:386 sh -c 'echo "machine=$(uname -m)"'
show armhf-shim-seccomp-agent.service
echo "== buildkitd after the reboot"
buildctl --addr unix:///run/armhf-buildkit/buildkitd.sock debug workers >/dev/null && echo "buildctl ok"
echo "== doctor"; armhf-shim doctor; echo "doctor rc=$?"

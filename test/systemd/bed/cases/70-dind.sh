# vm-timeout: 240
# armhf-shim-dind.service as docs/docker.md has an operator use it, with Debian's packages as the
# input ("From Debian's packages", i386 standing in for armhf; their libraries are multiarch in
# the guest, debs.txt): the packages unpacked into a directory, the unit pointed at it by a drop-in
# ("or edit the unit"), systemctl start. Docker through its socket is the 32-bit one; a container
# sees i686 and an armv7 cpuinfo. systemctl stop leaves the unit inactive, not failed, and nothing
# of the daemon running. Then the operator takes it all away again, so 90-undo-purge finds what
# it would without dind.
. /bed/cases/_lib.sh
for d in /bed/dind-debs/*.deb; do dpkg-deb -x "$d" /srv/dind-i386; done
mkdir -p /etc/systemd/system/armhf-shim-dind.service.d
printf '[Service]\nEnvironment=ARMHF_SHIM_DIND_INPUT=/srv/dind-i386\n' >/etc/systemd/system/armhf-shim-dind.service.d/input.conf
systemctl daemon-reload
echo "== start"; systemctl start armhf-shim-dind.service; echo "start rc=$?"
echo "== started"; show armhf-shim-dind.service
pid=$(systemctl show -p MainPID --value armhf-shim-dind.service)
echo "main=$(readlink /proc/$pid/exe)"
armhf-shim dind status | sed 's/^/status: /'
echo "== docker"
# Debian's docker CLI itself: the CLI wrapper of 50-units-enable would mount its own cpuinfo.
eval "$(armhf-shim dind env)"
echo "DOCKER_HOST=$DOCKER_HOST"
docker=/usr/bin/docker
$docker info --format 'info: {{.Architecture}} {{.OSType}} default={{.DefaultRuntime}}'
$docker version --format 'server: {{.Server.Os}}/{{.Server.Arch}}'
$docker load -i /bed/images/i386.tar >/dev/null
$docker run --rm bed/busybox:386 sh -c 'echo "uname=$(uname -m)"; grep -m1 "CPU architecture" /proc/cpuinfo'
echo "== stop"; systemctl stop armhf-shim-dind.service; echo "stop rc=$?"
echo "== stopped"; show armhf-shim-dind.service
armhf-shim dind status >/dev/null 2>&1; echo "status rc=$?"
echo "== left running"
[ "$pid" -gt 0 ] && kill -0 "$pid" 2>/dev/null && echo "main pid $pid still runs"
for p in /proc/[0-9]*; do
  case $(readlink "$p/exe" 2>/dev/null) in /var/lib/armhf-shim/dind/*|/srv/dind-i386/*) echo "process ${p#/proc/}: $(tr '\0' ' ' <"$p/cmdline")" ;; esac
done
grep /var/lib/armhf-shim/dind /proc/self/mountinfo
ls /var/lib/armhf-shim/dind/docker.sock /var/lib/armhf-shim/dind/docker.pid /sys/fs/cgroup/system.slice/armhf-shim-dind.service 2>/dev/null
ip -o link | grep -o ' dind-[^:@]*'
iptables-save | grep ARMHF-DIND
echo "== journal"
journalctl -u armhf-shim-dind.service --no-pager -o cat | sed 's/^/journal: /'
# Done with it: the drop-in, the input and the daemon's directory (its images) go.
rm -r /etc/systemd/system/armhf-shim-dind.service.d /srv/dind-i386 /var/lib/armhf-shim/dind
systemctl daemon-reload

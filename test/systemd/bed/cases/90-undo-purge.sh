# vm-timeout: 180
# What an operator does to take it all back (docs/fleet.md): setup --undo, the units they enabled
# stopped and disabled, uninstall of what they installed by hand, dpkg -P. Then nothing of
# armhf-shim is left: units, links, state files, the engines' configuration.
. /bed/cases/_lib.sh
echo "== undo"; armhf-shim setup --undo --restart; echo "undo rc=$?"
echo "== undo left"; ls -d /etc/buildkit /usr/local/lib/armhf-shim /var/lib/armhf-shim 2>/dev/null
# SuccessExitStatus=1 (buildkitd's exit on SIGTERM) must not hide a buildkitd that cannot start.
echo "== broken config"
mkdir -p /etc/buildkit && echo 'not [toml' >/etc/buildkit/buildkitd.toml
systemctl restart armhf-buildkitd.service; echo "restart rc=$?"
systemctl show -p Result armhf-buildkitd.service | sed 's/^/broken: /'
rm -r /etc/buildkit
systemctl reset-failed armhf-buildkitd.service
systemctl start armhf-buildkitd.service; echo "start rc=$?"
systemctl disable --now armhf-buildkitd.socket armhf-buildkitd.service armhf-shim-cpuinfo.service armhf-shim-seccomp-agent.socket armhf-shim-seccomp-agent.service
show armhf-buildkitd.service
journalctl -u armhf-buildkitd.service --no-pager -o cat -n 8 | sed 's/^/journal: /'
armhf-shim uninstall seccomp-agent; echo "uninstall seccomp-agent rc=$?"
armhf-shim uninstall docker-cli; echo "uninstall docker-cli rc=$?"
dpkg -P armhf-shim; echo "purge rc=$?"
systemctl daemon-reload
echo "== left"
systemctl list-unit-files 'armhf*' --no-legend | grep -v armhf-bed
systemctl list-units 'armhf*' --all --no-legend | grep -v armhf-bed
{ find / -xdev \( -path /bed -o -path /proc -o -path /var/lib/docker -o -path /var/lib/containerd -o -path /var/lib/armhf-bed \) -prune -o -iname '*armhf*' -print
  grep -rlE 'armhf-(shim|runc|docker|buildkit|lxc)' /etc 2>/dev/null; } | grep -v -e armhf-bed -e '^/etc/hostname$' | sort -u
echo "== engines"
show docker.service containerd.service
docker info --format 'default={{.DefaultRuntime}} runtimes={{range $k, $v := .Runtimes}}{{$k}},{{end}}'
docker run --rm bed/busybox:386 sh -c 'echo "uname=$(uname -m)"'

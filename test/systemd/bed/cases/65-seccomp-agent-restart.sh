# vm-timeout: 180
# The seccomp agent restarting under a running container (docs/uname.md): the container asks for
# armv7l and says its `uname -m` twice a second; the agent is restarted with systemctl restart,
# killed with kill -9 (Restart=always starts it again), then stopped and started. Each phase
# prints the container's lines since the last one and what systemd says of the agent, its file
# descriptor store included. Then a container that ends takes its listener out of the store.
. /bed/cases/_lib.sh
svc=armhf-shim-seccomp-agent.service
seen=0
phase() {
  sleep 4
  docker logs fdstore >/tmp/fdstore.log 2>&1
  echo "== $1"
  tail -n +$((seen + 1)) /tmp/fdstore.log
  seen=$(wc -l </tmp/fdstore.log)
  systemctl show -p MainPID -p NRestarts -p NFileDescriptorStore -p FileDescriptorStoreMax "$svc" | sed "s/^/$svc /"
}
docker run -d --name fdstore --runtime armhf -e ARMHF_SHIM_MACHINE=armv7l bed/busybox:386 \
  sh -c 'while :; do echo "uname: $(uname -m)"; sleep 0.5; done' >/dev/null
echo "run rc=$?"
phase "running"
systemctl restart "$svc"; echo "restart rc=$?"
phase "after systemctl restart"
kill -9 "$(systemctl show -p MainPID --value "$svc")"
phase "after kill -9"
systemctl stop "$svc"; systemctl start "$svc"; echo "stop start rc=$?"
phase "after stop and start"
docker rm -f fdstore >/dev/null
# A container that ends: its listener is in the store while it runs, and leaves it with it.
docker run -d --name fdstore-end --runtime armhf -e ARMHF_SHIM_MACHINE=armv7l bed/busybox:386 sh -c 'uname -m; sleep 3' >/dev/null
sleep 1
echo "== container running"; systemctl show -p NFileDescriptorStore "$svc" | sed "s/^/$svc /"
docker wait fdstore-end >/dev/null; sleep 1
echo "== container ended"; systemctl show -p NFileDescriptorStore "$svc" | sed "s/^/$svc /"
docker logs fdstore-end 2>&1 | sed 's/^/ended: /'
docker rm fdstore-end >/dev/null
echo "== journal"
journalctl -b -u "$svc" --no-pager -o cat

#!/bin/sh
# The runner of the systemd test bed, started at every boot of the guest by armhf-bed.service
# (scripts/systemd/disk.sh) from the read-only payload disk mounted at /bed, its stdout on the
# second serial port. It runs every /bed/cases/*.sh (names starting with "_" are helpers) in name
# order, each once across reboots, under `timeout`, and reports in the line protocol of the arm64
# bed (test/vm/serial.go: @@VM-START, @@RUN, @@STDOUT, @@STDERR, @@END NAME rc=N secs=S,
# @@VM-DONE), the per-case blocks printed by the arm64 bed's own run_case (scripts/vm/runcase.sh,
# which the test copies to /bed). A case that exits 100 asks for a reboot: the runner reboots the guest and goes on
# with the next case when the guest is up again (the guest's disk is a snapshot that lives as
# long as QEMU does, so the state below survives the reboot). After the last case it powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
state=/var/lib/armhf-bed
mkdir -p "$state"
boots=$(( $(cat "$state/boots" 2>/dev/null || echo 0) + 1 ))
echo "$boots" >"$state/boots"
. /bed/runcase.sh
echo "@@VM-START boot=$boots kernel=$(uname -r) machine=$(uname -m) pid1=$(cat /proc/1/comm) uptime=$(up)"
for c in /bed/cases/[!_]*.sh; do
  name=$(basename "$c" .sh)
  [ -e "$state/ran-$name" ] && continue
  # Marked before it runs: a case that reboots, or whose guest dies, is not run twice.
  : >"$state/ran-$name"
  run_case "$c" /root
  if [ "$rc" = 100 ]; then
    sync
    systemctl --no-block reboot
    exit 0
  fi
done
echo "@@VM-DONE uptime=$(up)"
sync
systemctl --no-block poweroff

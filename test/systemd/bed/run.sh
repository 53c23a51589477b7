#!/bin/sh
# The runner of the systemd test bed, started at every boot of the guest by armhf-bed.service
# (scripts/systemd/disk.sh) from the read-only payload disk mounted at /bed, its stdout on the
# second serial port. It runs every /bed/cases/*.sh (names starting with "_" are helpers) in name
# order, each once across reboots, under `timeout`, and reports in the line protocol of the arm64
# bed (test/vm/serial.go: @@VM-START, @@RUN, @@STDOUT, @@STDERR, @@END NAME rc=N secs=S,
# @@VM-DONE). A case that exits 100 asks for a reboot: the runner reboots the guest and goes on
# with the next case when the guest is up again (the guest's disk is a snapshot that lives as
# long as QEMU does, so the state below survives the reboot). After the last case it powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
state=/var/lib/armhf-bed
mkdir -p "$state"
boots=$(( $(cat "$state/boots" 2>/dev/null || echo 0) + 1 ))
echo "$boots" >"$state/boots"
up() { cut -d' ' -f1 /proc/uptime; }
echo "@@VM-START boot=$boots kernel=$(uname -r) machine=$(uname -m) pid1=$(cat /proc/1/comm) uptime=$(up)"
for c in /bed/cases/[!_]*.sh; do
  name=$(basename "$c" .sh)
  [ -e "$state/ran-$name" ] && continue
  # Marked before it runs: a case that reboots, or whose guest dies, is not run twice.
  : >"$state/ran-$name"
  t=$(sed -n 's/^# *vm-timeout: *\([0-9][0-9]*\).*/\1/p' "$c" | head -n1)
  t=${t:-60}
  echo "@@RUN $name timeout=$t"
  start=$(up)
  (cd /root && exec timeout -s KILL "$t" sh "$c") </dev/null >/tmp/.case.out 2>/tmp/.case.err
  rc=$?
  end=$(up)
  echo "@@STDOUT $name"
  awk '{ print }' /tmp/.case.out
  echo "@@STDERR $name"
  awk '{ print }' /tmp/.case.err
  echo "@@END $name rc=$rc secs=$(awk "BEGIN { printf \"%.2f\", $end - $start }")"
  if [ "$rc" = 100 ]; then
    sync
    systemctl --no-block reboot
    exit 0
  fi
done
echo "@@VM-DONE uptime=$(up)"
sync
systemctl --no-block poweroff

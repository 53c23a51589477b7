# vm-timeout: 60
# Stops the dockerd of dockerd-0-start (and its containerd) so the later
# cases run on a quiet VM. Output: "stopped after Ns".
. /cases/_lib.sh
. /cases/_disk.sh
disk_up
pid=$(pidof dockerd) || { echo "no dockerd running"; exit 0; }
kill "$pid"
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.5; i=$((i + 1)); done
kill -0 "$pid" 2>/dev/null && { echo "dockerd (pid $pid) did not stop within 50s" >&2; exit 1; }
echo "stopped after $((i / 2))s"

# vm-timeout: 90
# Removes the pods of the cri-* cases and stops their containerd, so the
# later cases (and dockerd's own containerd) run on a quiet VM.
# Output: "stopped after Ns".
. /cases/_lib.sh
. /cases/_disk.sh
disk_up
in_disk crictl rmp -fa >/dev/null 2>&1
pid=$(pidof containerd) || { echo "no containerd running"; exit 0; }
kill $pid
i=0
while kill -0 $pid 2>/dev/null && [ $i -lt 100 ]; do sleep 0.5; i=$((i + 1)); done
kill -0 $pid 2>/dev/null && { echo "containerd (pid $pid) did not stop within 50s" >&2; exit 1; }
echo "stopped after $((i / 2))s"

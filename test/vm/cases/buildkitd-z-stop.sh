# vm-timeout: 60
# Stops the buildkitd of buildkitd-0-start so the later cases run on a quiet
# VM. Output: "stopped after Ns".
. /cases/_lib.sh
. /cases/_disk.sh
disk_up
pid=$(pidof buildkitd) || { echo "no buildkitd running"; exit 0; }
kill "$pid"
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.5; i=$((i + 1)); done
kill -0 "$pid" 2>/dev/null && { echo "buildkitd (pid $pid) did not stop within 50s" >&2; exit 1; }
echo "stopped after $((i / 2))s"

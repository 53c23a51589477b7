# vm-timeout: 180
# crictl: a pod sandbox with --runtime armhf (a RuntimeClass's handler)
# running the armhf busybox image. Output: "uname -m: M" and
# "CPU architecture: N" from the container's log.
. /cases/_lib.sh
. /cases/_disk.sh
disk_up
mkdir -p $D/tmp/cri
cat >$D/tmp/cri/pod.json <<'JSON'
{"metadata": {"name": "armhf", "namespace": "default", "uid": "vm-armhf", "attempt": 0},
 "log_directory": "/tmp/cri/logs",
 "linux": {"security_context": {"namespace_options": {"network": 2}}}}
JSON
cat >$D/tmp/cri/ctr.json <<'JSON'
{"metadata": {"name": "probe"},
 "image": {"image": "docker.io/library/busybox-armhf:latest"},
 "command": ["sh", "-c", "echo \"uname -m: $(uname -m)\"; grep -m1 '^CPU architecture' /proc/cpuinfo"],
 "log_path": "probe.log",
 "linux": {}}
JSON
id=$(in_disk crictl run --no-pull --runtime armhf /tmp/cri/ctr.json /tmp/cri/pod.json) || exit 1
exited() { [ "$(in_disk crictl inspect -o go-template --template '{{.status.state}}' "$id")" = CONTAINER_EXITED ]; }
wait_for 60 exited >/dev/null || { echo "container $id did not exit within 60s" >&2; exit 1; }
in_disk crictl logs "$id"
rc=$(in_disk crictl inspect -o go-template --template '{{.status.exitCode}}' "$id")
[ "$rc" = 0 ] || { echo "container exit code $rc" >&2; exit 1; }

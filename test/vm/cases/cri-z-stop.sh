# vm-timeout: 90
# Removes the pods of the cri-* cases and stops their containerd, so the
# later cases (and dockerd's own containerd) run on a quiet VM.
# Output: "stopped after Ns".
. /cases/_lib.sh
. /cases/_disk.sh
disk_up
in_disk crictl rmp -fa >/dev/null 2>&1
stop_daemon containerd

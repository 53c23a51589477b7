# vm-timeout: 60
# Stops the dockerd of dockerd-0-start (and its containerd) so the later
# cases run on a quiet VM. Output: "stopped after Ns".
. /cases/_lib.sh
. /cases/_disk.sh
disk_up
stop_daemon dockerd

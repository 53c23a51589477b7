# vm-timeout: 60
# Stops the buildkitd of buildkitd-0-start so the later cases run on a quiet
# VM. Output: "stopped after Ns".
. /cases/_lib.sh
. /cases/_disk.sh
disk_up
stop_daemon buildkitd

# vm-timeout: 90
# Stops the daemon of dind-0-start (armhf-shim dind stop) so the later cases
# run on a quiet VM. Output: dind stop's report.
. /cases/_lib.sh
. /cases/_disk.sh
disk_up
in_disk armhf-shim dind status >/dev/null 2>&1 || { echo "no dind running"; exit 0; }
in_disk armhf-shim dind stop 2>&1

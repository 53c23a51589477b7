# vm-timeout: 120
# docker exec into a running armhf container. Output: "exec uname -m: M".
. /cases/_lib.sh
. /cases/_disk.sh
disk_up
in_disk docker run -d --name vm-exec busybox-armhf:latest sleep 300 >/dev/null || exit 1
out=$(in_disk docker exec vm-exec uname -m); rc=$?
echo "exec uname -m: $out"
in_disk docker rm -f vm-exec >/dev/null
exit $rc

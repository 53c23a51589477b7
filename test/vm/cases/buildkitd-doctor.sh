# vm-timeout: 60
# armhf-shim doctor --json with the buildkitd of buildkitd-0-start running:
# what it says of that buildkitd (asked from it, not read from the file)
# and, on a CPU without AArch32, what to do instead. Output: doctor's JSON.
. /cases/_lib.sh
. /cases/_disk.sh
disk_up
in_disk armhf-shim doctor --json

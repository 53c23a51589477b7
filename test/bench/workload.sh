# A build-like workload for busybox sh. $BB is the busybox command prefix
# (word-split on purpose: "qemu-i386-static /x/busybox" for the emulated run).
# $1 is the corpus. Prints nothing on success.
set -e
corpus=$1
work=$2
$BB gzip -c "$corpus" > "$work/c.gz"
$BB gzip -dc "$work/c.gz" | $BB md5sum > "$work/md5"
$BB sha256sum "$corpus" > "$work/sha"
$BB sort "$corpus" | $BB md5sum > "$work/sorted"
# configure-like: many short processes
i=0
while [ $i -lt "$SPAWNS" ]; do
  $BB true
  $BB expr $i + 1 > /dev/null
  i=$((i + 1))
done

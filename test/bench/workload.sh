# A build-like workload for busybox sh. $BB is the busybox command prefix
# (word-split on purpose: "qemu-i386-static /x/busybox" for the emulated run).
# $1 is the corpus, $2 a scratch directory, $3 the step to run (gzip, gunzip,
# sha256, sort, spawns; default: all of them in that order — gunzip reads
# what gzip wrote). Prints nothing on success.
set -e
corpus=$1
work=$2
step=${3:-all}
case $step in all|gzip)
  $BB gzip -c "$corpus" > "$work/c.gz" ;;
esac
case $step in all|gunzip)
  $BB gzip -dc "$work/c.gz" | $BB md5sum > "$work/md5" ;;
esac
case $step in all|sha256)
  $BB sha256sum "$corpus" > "$work/sha" ;;
esac
case $step in all|sort)
  $BB sort "$corpus" | $BB md5sum > "$work/sorted" ;;
esac
case $step in all|spawns)
  # configure-like: many short processes
  i=0
  while [ $i -lt "$SPAWNS" ]; do
    $BB true
    $BB expr $i + 1 > /dev/null
    i=$((i + 1))
  done ;;
esac
case $step in all|gzip|gunzip|sha256|sort|spawns) ;;
*) echo "workload.sh: unknown step $step" >&2; exit 2 ;;
esac
